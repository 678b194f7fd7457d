"""An IRC server going away and coming back, a gateway restart, and away status, end to end."""

from __future__ import annotations

from bridge.devservers import Ngircd
from tests.bridge_fixture import Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import (
    GatewayStarter,
    IrcPeerFactory,
    NgircdFactory,
    RawIrcPeer,
    channel_jid,
    joined,
    register_with_gateway,
    unavailable,
    unique,
)
from tests.test_rooms_e2e import back_in, groupchat
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient

RECONNECT_CAP = 0.5  # seconds: the longest wait between two reconnection attempts
BACK_TIMEOUT = 15.0


async def peer_on(server: Ngircd, nick: str, channel: str) -> RawIrcPeer:
    peer = await RawIrcPeer.connect(server.port, nick)
    assert isinstance(peer, RawIrcPeer)
    peer.nick = nick
    await peer.join(channel)
    return peer


async def messages_flow(alice: XmppClient, room: str, peer: RawIrcPeer, channel: str) -> None:
    mark = alice.mark()
    peer.send(f"PRIVMSG {channel} :are you back?")
    await alice.wait_for(groupchat(room, "are you back?"), after=mark)
    alice.make_message(mto=room, mbody="yes, back", mtype="groupchat").send()
    await peer.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == "yes, back")


async def test_the_irc_server_going_away_and_back_rejoins_the_user_by_itself(
    start_irc_gateway: GatewayStarter, own_ngircd: NgircdFactory, xmpp_user: XmppUserFactory
) -> None:
    server = await own_ngircd()
    run = await start_irc_gateway(server.name, server.port, reconnect_cap=RECONNECT_CAP)
    alice = await xmpp_user("alice")
    room = channel_jid(run, server.name, "#sturdy")
    await joined(alice, room, "alice")

    await server.stop()
    await alice.wait_for(unavailable(room, 333, 110))
    mark = alice.mark()
    await server.start()
    await alice.wait_for(back_in(room), after=mark, timeout=BACK_TIMEOUT)
    peer = await peer_on(server, "bob", "#sturdy")
    try:
        await messages_flow(alice, room, peer, "#sturdy")
    finally:
        await peer.close()


async def test_a_gateway_restart_puts_the_user_back_in_the_channel(
    start_irc_gateway: GatewayStarter,
    ngircd: Ngircd,
    xmpp_user: XmppUserFactory,
    irc_peer: IrcPeerFactory,
) -> None:
    channel = unique("#restart")
    bob = await irc_peer(unique("bob"))
    await bob.join(channel)
    first = await start_irc_gateway(ngircd.name, ngircd.port)
    alice = await xmpp_user("alice")
    nick = unique("phoenix")
    await register_with_gateway(alice, first, nick)
    room = channel_jid(first, ngircd.name, channel)
    await joined(alice, room, nick)
    await first.bridge.stop()

    mark = alice.mark()
    second: Running = await start_irc_gateway(
        ngircd.name, ngircd.port, spec=first.spec, database=first.database
    )
    assert second.jid == first.jid
    await alice.wait_for(back_in(room), after=mark, timeout=BACK_TIMEOUT)
    await messages_flow(alice, room, bob, channel)


async def test_away_presence_is_irc_away_and_back(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    channel = unique("#away")
    bob = await irc_peer(unique("bob"))
    await bob.join(channel)
    alice = await xmpp_user("alice")
    nick = unique("napper")
    await register_with_gateway(alice, irc_gateway, nick)
    await joined(alice, channel_jid(irc_gateway, ngircd.name, channel), nick)

    async def whois_away() -> str | None:
        mark = bob.mark()
        bob.send(f"WHOIS {nick}")
        await bob.wait_for(lambda m: m.command == "318", after=mark)
        away = [m for m in bob.received[mark:] if m.command == "301"]
        return away[0].param(-1) if away else None

    async def away_message_is(expected: str | None) -> bool:
        return await whois_away() == expected

    alice.send_presence(pshow="away", pstatus="gone to lunch")
    await wait_until(lambda: away_message_is("gone to lunch"), 10, "WHOIS to show 301")
    alice.send_presence()
    await wait_until(lambda: away_message_is(None), 10, "the away message to be cleared")


async def test_away_sent_to_a_room_is_irc_away_without_registering(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    channel = unique("#siesta")
    bob = await irc_peer(unique("bob"))
    await bob.join(channel)
    alice = await xmpp_user("alice")
    nick = unique("dozer")
    room = channel_jid(irc_gateway, ngircd.name, channel)
    await joined(alice, room, nick)

    async def away_message() -> str | None:
        mark = bob.mark()
        bob.send(f"WHOIS {nick}")
        await bob.wait_for(lambda m: m.command == "318", after=mark)
        away = [m for m in bob.received[mark:] if m.command == "301"]
        return away[0].param(-1) if away else None

    async def away_is(expected: str | None) -> bool:
        return await away_message() == expected

    alice.send_presence(pto=f"{room}/{nick}", pshow="xa", pstatus="asleep")
    await wait_until(lambda: away_is("asleep"), 10, "WHOIS to show 301")
    alice.send_presence(pto=f"{room}/{nick}")
    await wait_until(lambda: away_is(None), 10, "the away message to be cleared")
