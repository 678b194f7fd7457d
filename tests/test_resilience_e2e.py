"""What operators count on: reconnects, restarts, bad input, and secrets kept out of logs."""

from __future__ import annotations

import pytest
from slixmpp import ComponentXMPP
from slixmpp.stanza import Message

from bridge.link import ComponentLink
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.test_gateway_e2e import registered_user
from tests.test_rooms_e2e import back_in, groupchat, join, room_jid, self_presence
from tests.waiting import wait_until


def test_the_queue_is_bounded_and_counts_what_it_drops() -> None:
    xmpp = ComponentXMPP("gw.example", "secret")
    link = ComponentLink(xmpp, "127.0.0.1", 1, queue_limit=2)
    for number in range(3):
        message = Message()
        message["body"] = str(number)
        link.send(message)
    assert link.queued == 2
    assert link.dropped == 1


async def test_messages_sent_while_the_xmpp_link_is_down_arrive_after_reconnect(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await registered_user(xmpp_user, run)
    user = alice.boundjid.bare
    connects = run.gateway.link.connects
    run.gateway.xmpp.abort()
    await wait_until(lambda: not run.gateway.link.up.is_set(), 5, "link still up")
    run.world.whisper("bob", user, "sent while the link was down")
    assert run.gateway.link.queued >= 1
    await wait_until(lambda: run.gateway.link.connects > connects, 15, "no reconnect")
    delivered = await alice.wait_for(
        lambda s: isinstance(s, Message) and s["body"] == "sent while the link was down"
    )
    assert str(delivered["from"]) == f"bob%loop.example@{run.jid}"
    assert run.gateway.link.dropped == 0


async def test_a_restart_resumes_sessions_and_rooms_without_the_user_doing_anything(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    first = await start_bridge()
    alice = await registered_user(xmpp_user, first)
    user = alice.boundjid.bare
    room = room_jid(first, "#resume")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))
    await wait_until(
        lambda: first.gateway.muc.joined_rooms(user) != [], 5, "room state not recorded"
    )
    await first.bridge.stop()
    await wait_until(lambda: user not in first.world.sessions, 5, "session not closed")

    mark = alice.mark()
    second = await start_bridge(spec=first.spec, database=first.database)
    await wait_until(lambda: user in second.world.sessions, 15, "session not resumed")
    await alice.wait_for(back_in(room), after=mark, timeout=15)
    second.world.say("#resume", "bob", "welcome back")
    await alice.wait_for(groupchat(room, "welcome back"), after=mark)


@pytest.mark.parametrize(
    ("to", "condition"),
    [
        ("#%loop.example@{gw}", "jid-malformed"),
        ("nobody%@{gw}", "jid-malformed"),
        ("alice%loop.example@{gw}/resource", "jid-malformed"),
    ],
)
async def test_addresses_that_name_nothing_get_a_clear_error(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, to: str, condition: str
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    alice.make_message(mto=to.format(gw=run.jid), mbody="hello", mtype="chat").send()
    error = await alice.wait_for(lambda s: isinstance(s, Message) and s["type"] == "error")
    assert error["error"]["condition"] == condition
    assert error["error"]["text"]


async def test_a_huge_body_is_refused_and_the_gateway_keeps_serving(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(limits={"max_body_bytes": 1000})
    alice = await registered_user(xmpp_user, run)
    user = alice.boundjid.bare
    contact = f"bob%loop.example@{run.jid}"
    alice.make_message(mto=contact, mbody="x" * 5000, mtype="chat").send()
    error = await alice.wait_for(lambda s: isinstance(s, Message) and s["type"] == "error")
    assert error["error"]["condition"] == "not-acceptable"
    assert "1000 bytes" in error["error"]["text"]
    alice.make_message(mto=contact, mbody="short", mtype="chat").send()
    await wait_until(lambda: (user, "bob", "short") in run.world.private, 5, "not delivered")
    room = room_jid(run, "#big")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))
    mark = alice.mark()
    alice.make_message(mto=room, mbody="y" * 5000, mtype="groupchat").send()
    error = await alice.wait_for(
        lambda s: isinstance(s, Message) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == "not-acceptable"
    assert not any(len(body) > 1000 for _nick, body in run.world.room("#big").log)


async def test_private_messages_both_ways(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await registered_user(xmpp_user, run)
    user = alice.boundjid.bare
    alice.make_message(mto=f"bob%loop.example@{run.jid}", mbody="/me waves", mtype="chat").send()
    await wait_until(lambda: (user, "bob", "waves") in run.world.private, 5, "not delivered")
    run.world.whisper("bob", user, "hi alice")
    got = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "hi alice")
    assert got["type"] == "chat"


async def test_admin_commands_are_forbidden_to_others(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(admins=["boss@localhost"])
    alice = await xmpp_user("alice")
    iq = alice.Iq()
    iq["to"] = run.jid
    iq["type"] = "set"
    iq["command"]["node"] = "shutdown-world"
    iq["command"]["action"] = "execute"
    reply = await alice.iq(iq)
    assert reply["error"]["condition"] == "forbidden"
    boss = await xmpp_user(account="boss")
    iq = boss.Iq()
    iq["to"] = run.jid
    iq["type"] = "set"
    iq["command"]["node"] = "shutdown-world"
    iq["command"]["action"] = "execute"
    reply = await boss.iq(iq)
    assert reply["command"]["status"] == "completed"


async def test_a_restart_puts_even_unregistered_users_back_in_their_rooms(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    first = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(first, "#walk-in")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))
    await first.bridge.stop()
    mark = alice.mark()
    second = await start_bridge(
        spec=first.spec, database=first.database, options={"needs_registration": False}
    )
    await alice.wait_for(back_in(room), after=mark, timeout=15)
    second.world.say("#walk-in", "bob", "you are back")
    await alice.wait_for(groupchat(room, "you are back"), after=mark)
