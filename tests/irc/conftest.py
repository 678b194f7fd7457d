"""IRC end-to-end fixtures: people on IRC, gateways pointed at an IRC server, extra ngircds."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import ComponentSpec, Ngircd
from tests.bridge_fixture import BridgeStarter, Running
from tests.irc_peer import IrcPeer
from tests.test_rooms_e2e import join, self_presence
from tests.xmpp_client import XmppClient


class RawIrcPeer(IrcPeer):
    """An IRC person who knows their nick and can send bytes that are not UTF-8."""

    nick = ""

    def send_bytes(self, line: bytes) -> None:
        self._writer.write(line + b"\r\n")


IrcPeerFactory = Callable[[str], Awaitable[RawIrcPeer]]

_unique_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    """A channel name or nick no other test of the run uses (the session ngircd is shared)."""
    return f"{prefix}{next(_unique_numbers)}"


def preset(name: str, port: int, **extra: Any) -> dict[str, Any]:
    """Gateway options whose network preset *name* dials 127.0.0.1:*port* in plain text."""
    return {
        "networks": {name: {"address": "127.0.0.1", "ports": [port], "tls_ports": []}},
        **extra,
    }


def channel_jid(run: Running, server: str, channel: str) -> str:
    return f"{channel}%{server}@{run.jid}"


def status_codes(stanza: StanzaBase) -> set[int]:
    return {int(code) for code in stanza["muc"]["status_codes"]}


def from_server(server_jid: str, words: str) -> Callable[[StanzaBase], bool]:
    """A message from the IRC server's JID whose body mentions *words*."""

    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Message)
            and str(stanza["from"]) == server_jid
            and words in stanza["body"]
        )

    return match


def presence_of(occupant_jid: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return isinstance(stanza, Presence) and str(stanza["from"]) == occupant_jid

    return match


def unavailable(room: str, *codes: int) -> Callable[[StanzaBase], bool]:
    """The user's own unavailable presence from *room* carrying all of *codes*."""

    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Presence)
            and stanza["type"] == "unavailable"
            and stanza["from"].bare == room
            and set(codes) <= status_codes(stanza)
        )

    return match


class GatewayStarter(Protocol):
    def __call__(
        self,
        server: str,
        port: int,
        *,
        spec: ComponentSpec | None = None,
        database: Path | None = None,
        **options: Any,
    ) -> Awaitable[Running]: ...


@pytest.fixture
async def irc_peer(ngircd: Ngircd) -> AsyncIterator[IrcPeerFactory]:
    """People on the session ngircd; they quit when the test ends."""
    peers: list[RawIrcPeer] = []

    async def connect(nick: str) -> RawIrcPeer:
        peer = await RawIrcPeer.connect(ngircd.port, nick)
        assert isinstance(peer, RawIrcPeer)
        peer.nick = nick
        peers.append(peer)
        return peer

    yield connect
    for peer in peers:
        await peer.close()


@pytest.fixture
def start_irc_gateway(start_bridge: BridgeStarter) -> GatewayStarter:
    """`await start_irc_gateway(name, port, reconnect_cap=1)`: an IRC gateway whose preset
    *name* dials 127.0.0.1:*port*; extra keywords are gateway options. The `spec` and
    `database` of a stopped gateway start it again as it was (a process restart)."""

    async def start(
        server: str,
        port: int,
        *,
        spec: ComponentSpec | None = None,
        database: Path | None = None,
        **options: Any,
    ) -> Running:
        return await start_bridge(
            network="irc",
            hosts={"allow_private": True},
            options=preset(server, port, **options),
            spec=spec,
            database=database,
        )

    return start


@pytest.fixture
async def irc_gateway(start_irc_gateway: GatewayStarter, ngircd: Ngircd) -> Running:
    return await start_irc_gateway(ngircd.name, ngircd.port)


NgircdFactory = Callable[..., Awaitable[Ngircd]]


@pytest.fixture
async def own_ngircd(tmp_path: Path) -> AsyncIterator[NgircdFactory]:
    """ngircds of the test's own (to stop, restart or configure); stopped when it ends."""
    servers: list[Ngircd] = []

    async def start(**options: Any) -> Ngircd:
        workdir = tmp_path / f"ngircd{len(servers)}"
        workdir.mkdir()
        server = Ngircd(workdir, f"irc{len(servers)}.test.localhost", **options)
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.stop()


async def joined(client: XmppClient, room: str, nick: str, password: str | None = None) -> Any:
    """Join *room* as *nick* and return the self-presence (110)."""
    return await client.wait_for(self_presence(room), after=join(client, room, nick, password))


async def register_with_gateway(client: XmppClient, run: Running, nick: str) -> None:
    """XEP-0077 on the gateway: the gateway then follows the user's presence (XEP-0100)."""
    form = Form()
    form["type"] = "submit"
    form["values"] = {"nick": nick}
    iq: Iq = client.Iq()
    iq["type"], iq["to"] = "set", run.jid
    iq["register"].append(form)
    reply = await client.iq(iq)
    assert reply["type"] == "result", reply
    await client.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "subscribe" and s["from"] == run.jid
    )
