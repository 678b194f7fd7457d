"""A hostile IRC server: broken bytes and lines never cost the user a message or a room."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from slixmpp.stanza import Presence

from bridge.devservers import Ngircd
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import IrcPeerFactory, channel_jid, joined, unavailable, unique
from tests.irc_hostile_server import NAME, HostileConnection, HostileIrcServer, Script
from tests.test_rooms_e2e import groupchat

HostileFactory = Callable[[Script], Awaitable[HostileIrcServer]]


@pytest.fixture
async def hostile() -> AsyncIterator[HostileFactory]:
    servers: list[HostileIrcServer] = []

    async def start(script: Script) -> HostileIrcServer:
        server = HostileIrcServer(script)
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.stop()


async def gateway_for(
    start_bridge: BridgeStarter, hostile: HostileIrcServer, ngircd: Ngircd
) -> Running:
    """A gateway knowing both the hostile server and the well-behaved session ngircd."""
    plain = {"address": "127.0.0.1", "tls_ports": []}
    return await start_bridge(
        network="irc",
        hosts={"allow_private": True},
        options={
            "networks": {
                NAME: {**plain, "ports": [hostile.port]},
                ngircd.name: {**plain, "ports": [ngircd.port]},
            }
        },
    )


async def test_garbage_and_broken_lines_lose_nothing_deliverable(
    start_bridge: BridgeStarter, hostile: HostileFactory, ngircd: Ngircd, xmpp_user: XmppUserFactory
) -> None:
    async def script(client: HostileConnection) -> None:
        nick = await client.welcome(
            b"\x00\xff\xfe garbage\r\n", b":\r\n", b"   \r\n", b"\x01\x02\x03\r\n"
        )
        channel = await client.accept_join(nick)
        say = f":bob!b@h PRIVMSG {channel} :".encode()
        await client.send(
            say + b"caf" + b"\xc3",  # a UTF-8 character cut across two reads
            b"\xa9 ok\r\n",
            say + b"x" * 10_000 + b"\r\n",
            say + b"nul\x00and\x07bell\x1b[31m\r\n",
            f":{NAME} 353\r\n:{NAME} 332\r\n:{NAME} 401 {nick}\r\n:{NAME} 005\r\n".encode(),
            f":{NAME} 366 {nick}\r\n:{NAME} KICK\r\n:{NAME} MODE {channel}\r\n".encode(),
            say + b"after the garbage\r\n",
        )

    server = await hostile(script)
    run = await gateway_for(start_bridge, server, ngircd)
    alice = await xmpp_user("alice")
    room = channel_jid(run, NAME, "#hostile")
    await joined(alice, room, "alice")
    await alice.wait_for(groupchat(room, "café ok"))
    await alice.wait_for(groupchat(room, "after the garbage"))
    bodies = [s["body"] for s in alice.received if groupchat(room)(s)]
    assert not any(ord(c) < 32 and c != "\n" for body in bodies for c in body), bodies
    assert server.failures == []


async def test_a_server_closing_mid_line_is_explained_and_other_rooms_keep_working(
    start_bridge: BridgeStarter,
    hostile: HostileFactory,
    ngircd: Ngircd,
    xmpp_user: XmppUserFactory,
    irc_peer: IrcPeerFactory,
) -> None:
    async def script(client: HostileConnection) -> None:
        nick = await client.welcome()
        channel = await client.accept_join(nick)
        await client.expect(b"PRIVMSG")  # the user is in: now break off in mid-line
        await client.send(f":bob!b@h PRIVMSG {channel} :half a li".encode())
        await client.close()

    server = await hostile(script)
    run = await gateway_for(start_bridge, server, ngircd)
    channel = unique("#calm")
    bob = await irc_peer(unique("bob"))
    await bob.join(channel)
    alice = await xmpp_user("alice")
    calm = channel_jid(run, ngircd.name, channel)
    doomed = channel_jid(run, NAME, "#doomed")
    await joined(alice, calm, unique("survivor"))
    await joined(alice, doomed, "alice")
    alice.make_message(mto=doomed, mbody="hello?", mtype="groupchat").send()

    lost = await alice.wait_for(unavailable(doomed, 333, 110))
    assert "closed" in lost["status"], lost
    told = await alice.wait_for(
        lambda s: (
            isinstance(s, Presence)
            and str(s["from"]) == f"{NAME}@{run.jid}"
            and s["type"] == "unavailable"
        )
    )
    assert "closed" in told["status"], told
    bob.send(f"PRIVMSG {channel} :still fine here")
    await alice.wait_for(groupchat(calm, "still fine here"))
