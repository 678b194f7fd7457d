"""Matrix relations end to end: edits, replies, reactions, redactions, receipts, power, E2EE.

Prosody, the bridge and the session Synapse, with nio clients as the Matrix people.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

from nio import JoinResponse, ReceiptEvent, RoomPutStateResponse, RoomRedactResponse
from slixmpp.stanza import Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import Synapse
from bridge.relation_stanzas import (
    NS_CORRECT,
    NS_MARKERS,
    NS_MODERATE,
    NS_REACTIONS,
    NS_REPLY,
    NS_RETRACT,
)
from plugins.matrix.translate import ENCRYPTED_ROOM, UNREADABLE
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, sync_until
from tests.matrix.test_matrix_e2e import (
    logged_in_user,
    room_jid,
    shared_room,
    start_matrix_bridge,
)
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_relations_e2e import carrying, element_of
from tests.test_rooms_e2e import groupchat, join, self_presence
from tests.xmpp_client import XmppClient


def timeline_event(room_id: str, wanted: Callable[[dict[str, Any]], bool]) -> Callable[[Any], Any]:
    """A sync condition: a timeline event of the room whose raw JSON is *wanted*."""

    def match(response: Any) -> Any:
        room = response.rooms.join.get(room_id)
        events = room.timeline.events if room is not None else []
        return next((e.source for e in events if wanted(e.source)), None)

    return match


def relation(raw: dict[str, Any]) -> dict[str, Any]:
    relates_to = raw.get("content", {}).get("m.relates_to", {})
    return relates_to if isinstance(relates_to, dict) else {}


def send_reactions(client: XmppClient, room: str, target: str, *emojis: str) -> None:
    message = client.make_message(mto=room, mtype="groupchat")
    element = ET.SubElement(message.xml, f"{{{NS_REACTIONS}}}reactions", {"id": target})
    for emoji in emojis:
        ET.SubElement(element, f"{{{NS_REACTIONS}}}reaction").text = emoji
    message.send()


def send_marked(client: XmppClient, room: str, tag: str, body: str = "", **attrs: str) -> None:
    message = client.make_message(mto=room, mbody=body or None, mtype="groupchat")
    ET.SubElement(message.xml, tag, attrs)
    message.send()


def reactions_of(stanza: StanzaBase) -> list[str | None]:
    return [r.text for r in stanza.xml.iter(f"{{{NS_REACTIONS}}}reaction")]


def reacted(emojis: list[str]) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return carrying(f"{{{NS_REACTIONS}}}reactions")(stanza) and reactions_of(stanza) == emojis

    return match


async def test_relations_from_matrix_reach_the_xmpp_user(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    bob = await matrix_client(await matrix_user("bob"))
    created = await alice.room_create(invite=[account.user_id, bob.user_id])
    room_id = created.room_id
    assert isinstance(await bob.join(room_id), JoinResponse)
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)
    alice_nick, bob_nick = nick_of(alice), nick_of(bob)

    sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "helo"})
    original = await client.wait_for(groupchat(room, "helo"))
    original_stanza_id = original["stanza_id"]["id"]
    edit = {
        "msgtype": "m.text",
        "body": "* hello",
        "m.new_content": {"msgtype": "m.text", "body": "hello"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": sent.event_id},
    }
    await alice.room_send(room_id, "m.room.message", edit)
    fixed = await client.wait_for(groupchat(room, "hello"))
    assert element_of(fixed, f"{{{NS_CORRECT}}}replace").get("id") == original["id"]

    answer = {
        "msgtype": "m.text",
        "body": f"> <{alice.user_id}> helo\n\nindeed",
        "m.relates_to": {"m.in_reply_to": {"event_id": sent.event_id}},
    }
    bobs = await bob.room_send(room_id, "m.room.message", answer)
    indeed = await client.wait_for(groupchat(room, "indeed"))
    assert element_of(indeed, f"{{{NS_REPLY}}}reply").get("id") == original_stanza_id

    thumbs = await bob.room_send(room_id, "m.reaction", annotation(sent.event_id, "👍"))
    await bob.room_send(room_id, "m.reaction", annotation(sent.event_id, "🎉"))
    both = await client.wait_for(reacted(["👍", "🎉"]))
    assert both["from"] == f"{room}/{bob_nick}"
    assert element_of(both, f"{{{NS_REACTIONS}}}reactions").get("id") == original_stanza_id
    assert isinstance(await bob.room_redact(room_id, thumbs.event_id), RoomRedactResponse)
    await client.wait_for(reacted(["🎉"]))

    await alice.room_redact(room_id, bobs.event_id, "off topic")
    moderated = await client.wait_for(
        carrying(f"{{{NS_RETRACT}}}retract", id=indeed["stanza_id"]["id"])
    )
    assert moderated["from"] == room
    by = element_of(moderated, f"{{{NS_RETRACT}}}retract/{{{NS_MODERATE}}}moderated")
    assert by.get("by") == f"{room}/{alice_nick}"

    oops = await bob.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "oops"})
    heard = await client.wait_for(groupchat(room, "oops"))
    await bob.room_redact(room_id, oops.event_id)
    own = await client.wait_for(carrying(f"{{{NS_RETRACT}}}retract", id=heard["stanza_id"]["id"]))
    assert own["from"] == f"{room}/{bob_nick}"

    levels = (await alice.room_get_state_event(room_id, "m.room.power_levels")).content
    levels["users"][bob.user_id] = 50
    changed = await alice.room_put_state(room_id, "m.room.power_levels", levels)
    assert isinstance(changed, RoomPutStateResponse), changed
    promoted = await client.wait_for(occupant_presence(f"{room}/{bob_nick}", "moderator"))
    assert promoted["muc"]["affiliation"] == "admin"


def nick_of(person: Any) -> str:
    """A Matrix person's MUC nick: Synapse's default display name is the localpart."""
    return str(person.user_id).removeprefix("@").partition(":")[0]


def occupant_presence(occupant: str, role: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Presence)
            and stanza["from"] == occupant
            and stanza["muc"]["role"] == role
        )

    return match


def annotation(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


async def test_relations_from_the_xmpp_user_reach_matrix(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    me = account.user_id
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, me)
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)
    question = await alice.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "tea?"}
    )
    asked = (await client.wait_for(groupchat(room, "tea?")))["stanza_id"]["id"]

    first = client.make_message(mto=room, mbody="my frist", mtype="groupchat")
    first["id"] = "mine-1"
    first.send()
    mine = await sync_until(alice, timeline_event(room_id, body_is(me, "my frist")))
    send_marked(client, room, f"{{{NS_CORRECT}}}replace", "my first", id="mine-1")
    edit = await sync_until(alice, timeline_event(room_id, relates(me, "m.replace")))
    assert relation(edit)["event_id"] == mine["event_id"]
    assert edit["content"]["m.new_content"]["body"] == "my first"

    send_marked(client, room, f"{{{NS_REPLY}}}reply", "yes please", id=asked)
    reply = await sync_until(alice, timeline_event(room_id, body_is(me, "yes please")))
    assert relation(reply)["m.in_reply_to"]["event_id"] == question.event_id

    send_reactions(client, room, asked, "👍")
    thumbs = await sync_until(alice, timeline_event(room_id, relates(me, "m.annotation")))
    assert (relation(thumbs)["event_id"], relation(thumbs)["key"]) == (question.event_id, "👍")
    send_reactions(client, room, asked)
    await sync_until(alice, timeline_event(room_id, redacting(thumbs["event_id"])))

    send_marked(client, room, f"{{{NS_MARKERS}}}displayed", id=asked)
    await sync_until(alice, read_by(room_id, question.event_id, me), what="the read receipt")

    send_marked(client, room, f"{{{NS_RETRACT}}}retract", id="mine-1")
    await sync_until(alice, timeline_event(room_id, redacting(mine["event_id"])))


def body_is(sender: str, body: str) -> Callable[[dict[str, Any]], bool]:
    return lambda raw: raw.get("sender") == sender and raw.get("content", {}).get("body") == body


def relates(sender: str, rel_type: str) -> Callable[[dict[str, Any]], bool]:
    return lambda raw: raw.get("sender") == sender and relation(raw).get("rel_type") == rel_type


def redacting(event_id: str) -> Callable[[dict[str, Any]], bool]:
    def match(raw: dict[str, Any]) -> bool:
        redacts = raw.get("redacts") or raw.get("content", {}).get("redacts")
        return raw.get("type") == "m.room.redaction" and redacts == event_id

    return match


def read_by(room_id: str, event_id: str, user_id: str) -> Callable[[Any], bool]:
    def match(response: Any) -> bool:
        room = response.rooms.join.get(room_id)
        receipts = [
            receipt
            for event in (room.ephemeral if room is not None else [])
            if isinstance(event, ReceiptEvent)
            for receipt in event.receipts
        ]
        return any((r.event_id, r.user_id) == (event_id, user_id) for r in receipts)

    return match


async def test_an_encrypted_room_says_loudly_what_cannot_be_read_or_sent(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
    room_id = await shared_room(
        alice,
        account.user_id,
        initial_state=[{"type": "m.room.encryption", "state_key": "", "content": encryption}],
    )
    room = room_jid(run, room_id)

    mark = join(client, room, "me")
    await client.wait_for(self_presence(room), after=mark, timeout=15)
    notice = await client.wait_for(groupchat(room, ENCRYPTED_ROOM), after=mark)
    assert notice["from"] == room

    ciphertext = encryption | {"ciphertext": "AwgA", "session_id": "s", "device_id": "D"}
    await alice.room_send(room_id, "m.room.encrypted", ciphertext)
    unreadable = await client.wait_for(groupchat(room, UNREADABLE), after=mark)
    assert unreadable["from"] == f"{room}/{nick_of(alice)}"

    refused = client.mark()
    client.make_message(mto=room, mbody="hello?", mtype="groupchat").send()
    error = await client.wait_for(lambda s: s["type"] == "error", after=refused)
    assert error["error"]["condition"] == "feature-not-implemented"
    assert ENCRYPTED_ROOM in error["error"]["text"]
