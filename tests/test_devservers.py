"""The real servers the suite runs on: they start, carry traffic, and stop without leftovers."""

import asyncio
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from slixmpp import JID

from bridge.devservers import ComponentSpec, Ngircd, Prosody, ServerError, free_port
from bridge.devservers.ports import LOOPBACK
from bridge.devservers.process import ServerProcess
from tests.conftest import XmppUserFactory

READ_TIMEOUT = 10.0
WordsPredicate = Callable[[list[str]], bool]
STREAM_HEADER = re.compile(rb"<stream:stream\b[^>]*>")


async def read_until(reader: asyncio.StreamReader, pattern: re.Pattern[bytes]) -> re.Match[bytes]:
    """Read a stream until `pattern` matches what arrived so far."""
    received = b""
    async with asyncio.timeout(READ_TIMEOUT):
        while (match := pattern.search(received)) is None:
            chunk = await reader.read(4096)
            if not chunk:
                raise AssertionError(f"connection closed; received: {received!r}")
            received += chunk
    return match


async def component_handshake(port: int, domain: str, secret: str) -> bytes:
    """Log in as an XEP-0114 component; return the server's answer to the handshake."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(
            f"<stream:stream xmlns='jabber:component:accept' "
            f"xmlns:stream='http://etherx.jabber.org/streams' to='{domain}'>".encode()
        )
        header = (await read_until(reader, STREAM_HEADER)).group(0)
        stream_id = re.search(rb"\bid=['\"]([^'\"]+)['\"]", header)
        assert stream_id is not None, f"no stream id in {header!r}"
        digest = hashlib.sha1(stream_id.group(1) + secret.encode()).hexdigest()
        writer.write(f"<handshake>{digest}</handshake>".encode())
        answer = await read_until(reader, re.compile(rb"<handshake\s*/>|</stream:error>"))
        return answer.group(0)
    finally:
        writer.close()


class IrcPeer:
    """A bare IRC client: enough protocol to register, join and talk."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def register(cls, port: int, nick: str) -> "IrcPeer":
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        peer = cls(reader, writer)
        peer.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} test")
        await peer.read_until(lambda words: words[1:2] == ["001"])
        return peer

    def send(self, *lines: str) -> None:
        self.writer.write("".join(f"{line}\r\n" for line in lines).encode())

    async def read_until(self, wanted: WordsPredicate) -> list[str]:
        """Read lines (answering PINGs) until one, split into words, satisfies `wanted`."""
        async with asyncio.timeout(READ_TIMEOUT):
            while True:
                line = (await self.reader.readline()).decode().rstrip("\r\n")
                if not line:
                    raise AssertionError("IRC server closed the connection")
                words = line.split(" ")
                if words[0] == "PING":
                    self.send(f"PONG {words[1]}")
                elif wanted(words):
                    return words

    async def close(self) -> None:
        self.send("QUIT :done")
        self.writer.close()


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_xmpp_users_exchange_a_chat_message(xmpp_user: XmppUserFactory) -> None:
    alice = await xmpp_user("alice")
    bob = await xmpp_user("bob")

    alice.send_message(mto=JID(bob.boundjid.bare), mbody="hello bob", mtype="chat")

    message = await bob.wait_for(lambda stanza: stanza.name == "message")
    assert message["body"] == "hello bob"
    assert message["from"] == alice.boundjid


async def test_every_resource_of_an_account_gets_messages_to_its_bare_jid(
    xmpp_user: XmppUserFactory,
) -> None:
    alice = await xmpp_user("alice")
    laptop = await xmpp_user("bob", resource="laptop")
    phone = await xmpp_user(account=laptop.boundjid.user, resource="phone")

    alice.send_message(mto=JID(laptop.boundjid.bare), mbody="to both", mtype="chat")

    for bob in (laptop, phone):
        message = await bob.wait_for(lambda stanza: stanza.name == "message")
        assert message["body"] == "to both"


async def test_component_logs_in_with_its_secret(
    prosody: Prosody, component: ComponentSpec
) -> None:
    answer = await component_handshake(prosody.component_port, component.domain, component.secret)

    assert answer == b"<handshake/>"


async def test_component_with_a_wrong_secret_is_refused(
    prosody: Prosody, component: ComponentSpec
) -> None:
    answer = await component_handshake(prosody.component_port, component.domain, "wrong")

    assert answer == b"</stream:error>"


async def test_irc_users_talk_in_a_channel(ngircd: Ngircd) -> None:
    alice = await IrcPeer.register(ngircd.port, "alice_with_a_long_nick")
    bob = await IrcPeer.register(ngircd.port, "bob")
    for peer in (alice, bob):
        peer.send("JOIN #devservers")
        await peer.read_until(lambda words: words[1:2] == ["366"])  # end of NAMES: joined

    alice.send("PRIVMSG #devservers :hello channel")

    words = await bob.read_until(lambda words: words[1:2] == ["PRIVMSG"])
    assert words[0].startswith(":alice_with_a_long_nick!")
    assert words[2:] == ["#devservers", ":hello", "channel"]
    for peer in (alice, bob):
        await peer.close()


async def test_stopped_servers_leave_no_process_or_listener(tmp_path: Path) -> None:
    prosody = Prosody(tmp_path / "prosody", components=[ComponentSpec("gw.localhost", "s")])
    ngircd = Ngircd(tmp_path / "ngircd")
    started = []
    for server in (prosody, ngircd):
        server.workdir.mkdir()
        async with server:
            assert server.pid is not None and process_exists(server.pid)
            started.append(server.pid)

    assert not [pid for pid in started if process_exists(pid)]
    for port in (prosody.c2s_port, prosody.component_port, ngircd.port):
        with pytest.raises(OSError):
            await asyncio.open_connection(LOOPBACK, port)


async def test_missing_binary_says_which_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("bridge.devservers.process.SYSTEM_BINARY_DIRS", str(tmp_path))

    with pytest.raises(ServerError, match=r"apt-get install ngircd"):
        await Ngircd(tmp_path).start()


async def test_server_exiting_at_start_reports_its_log(tmp_path: Path) -> None:
    crashing = ServerProcess(
        "crashing",
        ["sh", "-c", "echo cannot read the config; exit 3"],
        log_path=tmp_path / "crashing.log",
        ports=[free_port()],
        cwd=tmp_path,
    )

    with pytest.raises(ServerError, match=r"(?s)exited with code 3.*cannot read the config"):
        await crashing.start()


def test_free_ports_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]

    assert len(set(ports)) == len(ports)
