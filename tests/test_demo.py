"""`xmpp-bridge demo` as README's first command promises: start, connect, join, stop clean."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

from tests.test_rooms_e2e import join, self_presence
from tests.xmpp_client import XmppClient

REPO = Path(__file__).resolve().parent.parent


async def test_the_demo_lets_a_client_join_an_irc_channel_and_stops_clean() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge.cli",
        "demo",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    printed = ""
    try:
        async with asyncio.timeout(40):
            while "talk to" not in printed:
                line = await process.stdout.readline()
                assert line, f"the demo ended early:\n{printed}"
                printed += line.decode()
        port = int(re.search(r"XMPP server : 127\.0\.0\.1 port (\d+)", printed)[1])  # type: ignore[index]
        channel = re.search(r"join +: (\S+)", printed)[1]  # type: ignore[index]
        client = XmppClient("demo@localhost/laptop", "whatever")
        await client.start(port)
        try:
            await client.wait_for(self_presence(channel), after=join(client, channel, "demo"))
        finally:
            await client.stop()
    finally:
        process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, printed + rest[0].decode()
    irc_port = int(re.search(r"IRC server .* port (\d+)", printed)[1])  # type: ignore[index]
    for left in (port, irc_port):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", left)
        except OSError:
            continue
        writer.close()
        raise AssertionError(f"something still listens on port {left} after Ctrl-C")
