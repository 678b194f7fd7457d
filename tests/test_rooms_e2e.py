"""Rooms of any network as XEP-0045 group chats, end to end through Prosody."""

from __future__ import annotations

from collections.abc import Callable

from slixmpp.stanza import Message, Presence
from slixmpp.xmlstream import StanzaBase

from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.test_gateway_e2e import register
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient


def room_jid(run: Running, name: str) -> str:
    return f"{name}%loop.example@{run.jid}"


def join(client: XmppClient, room: str, nick: str, password: str | None = None) -> int:
    mark = client.mark()
    presence = client.make_presence(pto=f"{room}/{nick}")
    presence.enable("muc_join")
    if password is not None:
        presence["muc_join"]["password"] = password
    presence.send()
    return mark


def self_presence(room: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Presence)
            and stanza["from"].bare == room
            and "110" in {str(code) for code in stanza["muc"]["status_codes"]}
        )

    return match


def back_in(room: str) -> Callable[[StanzaBase], bool]:
    """The user's own available presence in *room* (not the 110 of leaving it)."""
    own = self_presence(room)
    return lambda stanza: own(stanza) and stanza["type"] != "unavailable"


def groupchat(room: str, body: str | None = None) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Message)
            and stanza["type"] == "groupchat"
            and stanza["from"].bare == room
            and (body is None or stanza["body"] == body)
        )

    return match


async def test_join_shows_occupants_then_self_then_subject(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    run.world.arrive("#lobby", "bob")
    run.world.room("#lobby").topic = "Welcome to the lobby"
    alice = await xmpp_user("alice")
    room = room_jid(run, "#lobby")
    mark = join(alice, room, "alice")
    own = await alice.wait_for(self_presence(room), after=mark)
    codes = {int(code) for code in own["muc"]["status_codes"]}
    assert {110, 100} <= codes
    others = [
        s
        for s in alice.received[mark : alice.received.index(own)]
        if isinstance(s, Presence) and s["from"].bare == room
    ]
    assert [str(p["from"].resource) for p in others] == ["bob"]
    subject = await alice.wait_for(
        lambda s: isinstance(s, Message) and s["from"].bare == room and bool(s["subject"]),
        after=mark,
    )
    assert subject["subject"] == "Welcome to the lobby"


async def test_messages_flow_both_ways_with_reflection_and_stable_ids(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(run, "#talk")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))

    message = alice.make_message(mto=room, mbody="hello legacy", mtype="groupchat")
    message["id"] = "client-id-1"
    message.send()
    reflected = await alice.wait_for(groupchat(room, "hello legacy"))
    assert reflected["id"] == "client-id-1"
    assert reflected["stanza_id"]["by"] == room
    assert reflected["stanza_id"]["id"]
    await wait_until(lambda: ("alice", "hello legacy") in run.world.room("#talk").log, 5, "sent")

    run.world.say("#talk", "bob", "hi \x01there\x07")
    heard = await alice.wait_for(groupchat(room, "hi there"))
    assert heard["from"].resource == "bob"


async def test_history_on_join_comes_with_delay(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice", resource="one")
    room = room_jid(run, "#hist")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))
    run.world.say("#hist", "bob", "remember me")
    await alice.wait_for(groupchat(room, "remember me"))
    second = await xmpp_user(account=alice.boundjid.user, resource="two")
    mark = join(second, room, "alice")
    old = await second.wait_for(groupchat(room, "remember me"), after=mark)
    assert old["delay"]["stamp"] is not None


async def test_unknown_room_and_wrong_key_are_refused_with_reasons(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    run.world.room("#locked").key = "sesame"
    alice = await xmpp_user("alice")
    missing = room_jid(run, "#missing-room")
    mark = join(alice, missing, "alice")
    error = await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == "item-not-found"
    assert "does not exist" in error["error"]["text"]

    locked = room_jid(run, "#locked")
    mark = join(alice, locked, "alice", password="wrong")
    error = await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == "not-authorized"
    mark = join(alice, locked, "alice", password="sesame")
    await alice.wait_for(self_presence(locked), after=mark)


async def test_groupchat_without_joining_is_not_acceptable(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(run, "#quiet")
    alice.make_message(mto=room, mbody="am I in?", mtype="groupchat").send()
    error = await alice.wait_for(lambda s: isinstance(s, Message) and s["type"] == "error")
    assert error["error"]["condition"] == "not-acceptable"
    assert "join" in error["error"]["text"]


async def test_leaving_parts_the_room_on_the_network(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(run, "#exit")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))
    assert "alice" in run.world.room("#exit").members
    mark = alice.mark()
    alice.send_presence(pto=f"{room}/alice", ptype="unavailable")
    await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "unavailable" and s["from"].bare == room,
        after=mark,
    )
    await wait_until(lambda: "alice" not in run.world.room("#exit").members, 5, "still there")


async def test_registration_is_required_when_the_network_says_so(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    room = room_jid(run, "#members")
    mark = join(alice, room, "alice")
    error = await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == "registration-required"
    await register(alice, run)
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))


async def test_the_operator_limits_rooms_per_user(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False}, limits={"rooms_per_user": 1})
    alice = await xmpp_user("alice")
    first = room_jid(run, "#one")
    await alice.wait_for(self_presence(first), after=join(alice, first, "alice"))
    mark = join(alice, room_jid(run, "#two"), "alice")
    error = await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == "resource-constraint"
    assert "leave one" in error["error"]["text"]
