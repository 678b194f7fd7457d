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
from tests.irc.loopback import Loopback
from tests.irc.sasl_server import ScriptedSaslServer
from tests.memory_store import MemoryStore

SERVER = "irc.example.org"
GOOD = base64.b64encode(b"\0alice\0right password").decode()


@pytest.fixture
async def sasl_server() -> AsyncIterator[ScriptedSaslServer]:
    async with ScriptedSaslServer("PLAIN", accepted=GOOD) as server:
        yield server


async def login_with(server: ScriptedSaslServer, password: str) -> tuple[IrcNetwork, LoginContext]:
    irc = IrcNetwork({"networks": {SERVER: {"address": "127.0.0.1", "ports": [server.port]}}})
    store = MemoryStore()
    settings = ServerSettings(
        nick="alice", sasl_password=SecretStr(password), ports=[str(server.port)], tls_ports=[]
    )
    await store.save(server_scope(SERVER), settings)
    events: list[LegacyEvent] = []
    return irc, LoginContext("alice@example.org", None, events.append, Loopback(), store)


async def test_the_right_sasl_password_logs_the_account_in(sasl_server: ScriptedSaslServer) -> None:
    irc, context = await login_with(sasl_server, "right password")
    session = await irc.login(context)
    try:
        link = await asyncio.wait_for(session.link(SERVER), 10)
        assert link.state is not None and link.state.nick == "alice"
        assert f"AUTHENTICATE {GOOD}" in sasl_server.lines
        assert sasl_server.lines.index("CAP END") > sasl_server.lines.index(f"AUTHENTICATE {GOOD}")
    finally:
        await session.close("done")


async def test_a_wrong_sasl_password_is_refused_with_a_reason(
    sasl_server: ScriptedSaslServer,
) -> None:
    irc, context = await login_with(sasl_server, "wrong password")
    session = await irc.login(context)
    try:
        with pytest.raises(AuthFailed, match="SASL"):
            await asyncio.wait_for(session.link(SERVER), 10)
    finally:
        await session.close("done")
