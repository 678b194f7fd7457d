"""Corrections, replies, reactions, retractions, markers and typing, end to end through Prosody.

Each runs against a network that has the feature ("relations" on) and one that has not,
where the gateway's fallback must reach the network instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal
from xml.etree import ElementTree as ET

from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import (
    Displayed,
    MarkDisplayed,
    MessageIn,
    React,
    Reaction,
    Retract,
    Retraction,
    SendMessage,
    Typing,
)
from bridge.relation_stanzas import (
    NS_CHAT_STATES,
    NS_CORRECT,
    NS_MARKERS,
    NS_MODERATE,
    NS_REACTIONS,
    NS_REPLY,
    NS_RETRACT,
)
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.loopnet import SERVER
from tests.test_gateway_e2e import registered_user
from tests.test_rooms_e2e import groupchat, join, room_jid, self_presence
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient

WITH = {"needs_registration": False, "relations": True}
WITHOUT = {"needs_registration": False}


def carrying(tag: str, **attributes: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        element = stanza.xml.find(tag)
        return (
            isinstance(stanza, Message)
            and element is not None
            and all(element.get(k) == v for k, v in attributes.items())
        )

    return match


def element_of(stanza: StanzaBase, path: str) -> ET.Element:
    element = stanza.xml.find(path)
    assert element is not None, f"no {path} in {stanza}"
    return element


def send_with(
    client: XmppClient,
    to: str,
    kind: Literal["chat", "groupchat"],
    tag: str,
    body: str = "",
    **attributes: str,
) -> Message:
    message = client.make_message(mto=to, mbody=body or None, mtype=kind)
    element = ET.SubElement(message.xml, tag, attributes)
    if tag == f"{{{NS_REACTIONS}}}reactions":
        ET.SubElement(element, f"{{{NS_REACTIONS}}}reaction").text = "👍"
    message.send()
    return message


async def in_room(run: Running, alice: XmppClient, name: str) -> str:
    room = room_jid(run, name)
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice"))
    return room


async def bob_says_hello(run: Running, alice: XmppClient, room: str, name: str) -> str:
    """Bob's message "hello there" (legacy id b1); its stanza-id as alice's client saw it."""
    run.world.arrive(name, "bob")
    run.world.say(name, "bob", "hello there", legacy_id="b1")
    heard = await alice.wait_for(groupchat(room, "hello there"))
    assert heard["id"] == heard["stanza_id"]["id"]
    return str(heard["stanza_id"]["id"])


def sent(run: Running) -> list[SendMessage]:
    return [action for _user, action in run.world.actions if isinstance(action, SendMessage)]


async def test_room_relations_from_the_network_reach_the_client(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options=WITH)
    alice = await xmpp_user("alice")
    room = await in_room(run, alice, "#rel")
    original = await bob_says_hello(run, alice, room, "#rel")
    address = RoomAddress(SERVER, "#rel")

    run.world.say("#rel", "bob", "hello there!", legacy_id="b2", replaces="b1")
    fixed = await alice.wait_for(groupchat(room, "hello there!"))
    assert element_of(fixed, f"{{{NS_CORRECT}}}replace").get("id") == original

    run.world.say("#rel", "bob", "me again", legacy_id="b3", reply_to="b1")
    answer = await alice.wait_for(groupchat(room, "me again"))
    reply = element_of(answer, f"{{{NS_REPLY}}}reply")
    assert (reply.get("id"), reply.get("to")) == (original, f"{room}/bob")

    run.world.tell_room("#rel", Reaction(address, "bob", "b1", ("🎉", "👍")))
    reacted = await alice.wait_for(carrying(f"{{{NS_REACTIONS}}}reactions", id=original))
    assert reacted["from"] == f"{room}/bob"
    emojis = [r.text for r in reacted.xml.iter(f"{{{NS_REACTIONS}}}reaction")]
    assert emojis == ["🎉", "👍"]

    run.world.tell_room("#rel", Displayed(address, "bob", "b1"))
    await alice.wait_for(carrying(f"{{{NS_MARKERS}}}displayed", id=original))

    run.world.tell_room("#rel", Typing(address, "bob"))
    typing = await alice.wait_for(carrying(f"{{{NS_CHAT_STATES}}}composing"))
    assert typing["from"] == f"{room}/bob"

    run.world.tell_room("#rel", Retraction(address, "bob", "b1", by="op", reason="spam"))
    removed = await alice.wait_for(carrying(f"{{{NS_RETRACT}}}retract", id=original))
    assert removed["from"] == room
    moderated = element_of(removed, f"{{{NS_RETRACT}}}retract/{{{NS_MODERATE}}}moderated")
    assert moderated.get("by") == f"{room}/op"


async def test_room_relations_from_the_client_reach_the_network_by_legacy_id(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options=WITH)
    alice = await xmpp_user("alice")
    room = await in_room(run, alice, "#out")
    original = await bob_says_hello(run, alice, room, "#out")
    address = RoomAddress(SERVER, "#out")

    first = alice.make_message(mto=room, mbody="my first", mtype="groupchat")
    first["id"] = "mine-1"
    first.send()
    await wait_until(lambda: "mine-1" in run.world.sent_ids, 5, "never sent")
    mine = run.world.sent_ids["mine-1"]

    send_with(alice, room, "groupchat", f"{{{NS_CORRECT}}}replace", "my first!", id="mine-1")
    await wait_until(lambda: any(m.body == "my first!" for m in sent(run)), 5, "no correction")
    assert [m.replaces for m in sent(run) if m.body == "my first!"] == [mine]

    send_with(alice, room, "groupchat", f"{{{NS_REPLY}}}reply", "agreed", id=original)
    await wait_until(lambda: any(m.body == "agreed" for m in sent(run)), 5, "no reply")
    assert [m.reply_to for m in sent(run) if m.body == "agreed"] == ["b1"]

    send_with(alice, room, "groupchat", f"{{{NS_REACTIONS}}}reactions", id=original)
    send_with(alice, room, "groupchat", f"{{{NS_MARKERS}}}displayed", id=original)
    send_with(alice, room, "groupchat", f"{{{NS_RETRACT}}}retract", id="mine-1")
    expected = [React(address, "b1", ("👍",)), MarkDisplayed(address, "b1"), Retract(address, mine)]
    await wait_until(lambda: len(run.world.relations) == 3, 5, "relations missing")
    assert [action for _user, action in run.world.relations] == expected
    await alice.wait_for(carrying(f"{{{NS_REACTIONS}}}reactions", id=original))


async def test_room_fallbacks_for_a_network_without_relations(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options=WITHOUT)
    alice = await xmpp_user("alice")
    room = await in_room(run, alice, "#plain")
    original = await bob_says_hello(run, alice, room, "#plain")

    first = alice.make_message(mto=room, mbody="my first", mtype="groupchat")
    first["id"] = "mine-1"
    first.send()
    send_with(alice, room, "groupchat", f"{{{NS_CORRECT}}}replace", "my first!", id="mine-1")
    send_with(alice, room, "groupchat", f"{{{NS_REPLY}}}reply", "agreed", id=original)
    send_with(alice, room, "groupchat", f"{{{NS_REACTIONS}}}reactions", id=original)
    send_with(alice, room, "groupchat", f"{{{NS_MARKERS}}}displayed", id=original)
    texts = ["my first", "* my first!", "> bob: hello there\nagreed", "reacted 👍 to «hello there»"]
    await wait_until(lambda: [m.body for m in sent(run)] == texts, 5, "fallbacks missing")
    assert all(m.replaces is None and m.reply_to is None for m in sent(run))

    mark = alice.mark()
    send_with(alice, room, "groupchat", f"{{{NS_RETRACT}}}retract", id="mine-1")
    error = await alice.wait_for(lambda s: s["type"] == "error", after=mark)
    assert error["error"]["condition"] == "feature-not-implemented"
    assert "cannot take a message back" in error["error"]["text"]
    assert run.world.relations == []


async def test_chat_relations_both_ways(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"relations": True})
    alice = await registered_user(xmpp_user, run)
    session = run.world.sessions[alice.boundjid.bare]
    bob = ContactAddress(SERVER, "bob")
    bob_jid = f"bob%{SERVER}@{run.jid}"

    session.emit(MessageIn(bob, "are you there?", legacy_id="p1"))
    heard = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "are you there?")
    session.emit(MessageIn(bob, "are you here?", legacy_id="p2", replaces="p1"))
    fixed = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "are you here?")
    assert element_of(fixed, f"{{{NS_CORRECT}}}replace").get("id") == heard["id"]
    session.emit(Reaction(bob, None, "p1", ("❤",)))
    await alice.wait_for(carrying(f"{{{NS_REACTIONS}}}reactions", id=heard["id"]))

    mine = alice.make_message(mto=bob_jid, mbody="yes", mtype="chat")
    mine["id"] = "chat-1"
    mine.send()
    await wait_until(lambda: "chat-1" in run.world.sent_ids, 5, "never sent")
    send_with(alice, bob_jid, "chat", f"{{{NS_CORRECT}}}replace", "yes!", id="chat-1")
    send_with(alice, bob_jid, "chat", f"{{{NS_REACTIONS}}}reactions", id=heard["id"])
    await wait_until(lambda: bool(run.world.relations), 5, "no reaction")
    assert [m.replaces for m in sent(run) if m.body == "yes!"] == [run.world.sent_ids["chat-1"]]
    assert run.world.relations[0][1] == React(bob, "p1", ("👍",))
