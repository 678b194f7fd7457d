"""`xmpp-bridge demo`: a throw-away Prosody and ngircd with the IRC gateway attached.

Everything lives in a temporary directory and on loopback ports; Ctrl-C stops the
servers and the gateway and removes the directory, leaving nothing running.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import tempfile
from pathlib import Path

from bridge.app import Bridge
from bridge.config import Config
from bridge.devservers import ComponentSpec, Ngircd, Prosody, ServerError
from bridge.loader import PluginError
from bridge.logsetup import configure_logging
from bridge.secrets import generate_key

GATEWAY = "irc.localhost"


async def run_demo(*, irc: bool = True) -> int:
    configure_logging("WARNING")
    spec = ComponentSpec(GATEWAY, secrets.token_urlsafe(16))
    with tempfile.TemporaryDirectory(prefix="xmpp-bridge-demo-") as directory:
        root = Path(directory)
        (root / "prosody").mkdir()
        (root / "ngircd").mkdir()
        try:
            async with Prosody(root / "prosody", "localhost", [spec]) as prosody:
                if not irc:
                    return await _serve(prosody, spec, root, None)
                async with Ngircd(root / "ngircd", "irc.localhost") as ngircd:
                    return await _serve(prosody, spec, root, ngircd)
        except (ServerError, PluginError) as error:
            print(f"demo failed: {error}")
            return 1


async def _serve(prosody: Prosody, spec: ComponentSpec, root: Path, ngircd: Ngircd | None) -> int:
    networks = (
        {ngircd.name: {"address": "127.0.0.1", "ports": [ngircd.port], "tls_ports": []}}
        if ngircd
        else {}
    )
    config = Config.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{root / 'bridge.db'}"},
            "gateway": [
                {
                    "domain": spec.domain,
                    "network": "irc",
                    "name": "Demo IRC gateway",
                    "server_port": prosody.component_port,
                    "secret": spec.secret,
                    "hosts": {"allow_private": True},
                    "options": {"networks": networks},
                }
            ],
        }
    )
    bridge = Bridge(config, {"XMPP_BRIDGE_KEY": generate_key()})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bridge.start()
    try:
        await asyncio.wait_for(bridge.gateways[0].link.up.wait(), 15)
        print(_instructions(prosody, ngircd), flush=True)
        await stop.wait()
    finally:
        print("stopping the demo…", flush=True)
        await bridge.stop()
    return 0


def _instructions(prosody: Prosody, ngircd: Ngircd | None) -> str:
    lines = [
        "",
        "xmpp-bridge demo is running (Ctrl-C stops everything).",
        f"  XMPP server : 127.0.0.1 port {prosody.c2s_port}, plain TCP (no TLS)",
        "  account     : demo@localhost, any password (the demo server accepts all)",
        f"  gateway     : {GATEWAY}",
    ]
    if ngircd is not None:
        lines += [
            f"  IRC server  : {ngircd.name} on 127.0.0.1 port {ngircd.port}",
            f"  join        : #demo%{ngircd.name}@{GATEWAY}",
            f"  talk to     : somenick%{ngircd.name}@{GATEWAY}",
        ]
    return "\n".join(lines)
