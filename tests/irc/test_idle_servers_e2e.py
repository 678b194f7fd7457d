"""Leaving the last channel of a server ends the connection to it, seen from IRC."""

from __future__ import annotations

from bridge.devservers import IrcOperator, Ngircd
from tests.conftest import XmppUserFactory
from tests.irc.conftest import (
    GatewayStarter,
    IrcPeerFactory,
    channel_jid,
    joined,
    unavailable,
    unique,
)


async def test_the_connection_quits_after_the_last_channel_and_a_new_join_dials_again(
    start_irc_gateway: GatewayStarter,
    ngircd: Ngircd,
    irc_operator: IrcOperator,
    xmpp_user: XmppUserFactory,
    irc_peer: IrcPeerFactory,
) -> None:
    run = await start_irc_gateway(ngircd.name, ngircd.port, idle_server_grace=0.5)
    oper = await irc_peer(unique("oper"))
    mark = oper.mark()
    oper.send(f"OPER {irc_operator.name} {irc_operator.password}", f"MODE {oper.nick} +c")
    await oper.wait_for(lambda m: m.command == "381", after=mark)  # sees clients come and go
    alice = await xmpp_user("alice")
    nick = unique("leaver")
    rooms = [channel_jid(run, ngircd.name, unique("#idle")) for _ in range(2)]
    for room in rooms:
        await joined(alice, room, nick)

    mark = oper.mark()
    alice.send_presence(pto=f"{rooms[0]}/{nick}", ptype="unavailable")
    await alice.wait_for(unavailable(rooms[0], 110))
    alice.send_presence(pto=f"{rooms[1]}/{nick}", ptype="unavailable")
    await alice.wait_for(unavailable(rooms[1], 110))
    await oper.wait_for(  # the gateway said QUIT: ngircd tells operators with umode +c
        lambda m: (
            m.command == "NOTICE" and f"exiting: {nick} " in m.param(-1) and "QUIT" in m.param(-1)
        ),
        after=mark,
    )

    mark = oper.mark()
    await joined(alice, rooms[0], nick)
    await oper.wait_for(
        lambda m: m.command == "NOTICE" and nick in m.param(-1) and "connect" in m.param(-1),
        after=mark,
    )
