"""SASL PLAIN end to end: ngircd has no SASL, so a scripted server plays an IRCv3 network."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bridge.errors import AuthFailed
from bridge.events import LegacyEvent
from bridge.network import LoginContext
from plugins.irc.network import IrcNetwork, server_scope
from plugins.irc.settings import ServerSettings
from tests.irc.test_sasl_external import Loopback
from tests.memory_store import MemoryStore

SERVER = "irc.example.org"
GOOD = base64.b64encode(b"\0alice\0right password").decode()


class PlainSaslServer:
    """Offers sasl=PLAIN and logs in only the one right account."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            text = line.decode().strip()
            self.lines.append(text)
            answers = {
                "CAP LS 302": ["CAP * LS :sasl=PLAIN"],
                "CAP REQ :sasl": ["CAP * ACK :sasl"],
                "CAP REQ sasl": ["CAP * ACK :sasl"],
                "AUTHENTICATE PLAIN": ["AUTHENTICATE +"],
                "CAP END": ["001 alice :Welcome", "376 alice :End of MOTD"],
            }.get(text, [])
            if text.startswith("AUTHENTICATE ") and text not in ("AUTHENTICATE PLAIN",):
                answers = (
                    ["900 alice alice!a@h alice :Logged in", "903 alice :SASL ok"]
                    if text == f"AUTHENTICATE {GOOD}"
                    else ["904 alice :SASL authentication failed"]
                )
            for answer in answers:
                writer.write(f":sasl.test {answer}\r\n".encode())
            if text.startswith("QUIT"):
                writer.close()
                return


@pytest.fixture
async def sasl_server() -> AsyncIterator[PlainSaslServer]:
    server = PlainSaslServer()
    server._server = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    yield server
    server._server.close()


async def login_with(server: PlainSaslServer, password: str) -> tuple[IrcNetwork, LoginContext]:
    irc = IrcNetwork({"networks": {SERVER: {"address": "127.0.0.1", "ports": [server.port]}}})
    store = MemoryStore()
    settings = ServerSettings(
        nick="alice", sasl_password=SecretStr(password), ports=[str(server.port)], tls_ports=[]
    )
    await store.save(server_scope(SERVER), settings)
    events: list[LegacyEvent] = []
    return irc, LoginContext("alice@example.org", None, events.append, Loopback(), store)


async def test_the_right_sasl_password_logs_the_account_in(sasl_server: PlainSaslServer) -> None:
    irc, context = await login_with(sasl_server, "right password")
    session = await irc.login(context)
    try:
        link = await asyncio.wait_for(session.link(SERVER), 10)
        assert link.state is not None and link.state.nick == "alice"
        assert f"AUTHENTICATE {GOOD}" in sasl_server.lines
        assert sasl_server.lines.index("CAP END") > sasl_server.lines.index(f"AUTHENTICATE {GOOD}")
    finally:
        await session.close("done")


async def test_a_wrong_sasl_password_is_refused_with_a_reason(sasl_server: PlainSaslServer) -> None:
    irc, context = await login_with(sasl_server, "wrong password")
    session = await irc.login(context)
    try:
        with pytest.raises(AuthFailed, match="SASL"):
            await asyncio.wait_for(session.link(SERVER), 10)
    finally:
        await session.close("done")
