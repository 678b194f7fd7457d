"""MucService occupants and messages both ways: reflection, ids, delays, the archive."""

from __future__ import annotations

import pytest
from slixmpp import JID
from slixmpp.stanza import Message

from bridge.addressing import ContactAddress
from bridge.errors import Forbidden
from bridge.events import (
    Kicked,
    MessageIn,
    Occupant,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    Role,
    RoomLeft,
    SendMessage,
    SetSubject,
    SubjectChanged,
)
from tests.muc_service_fakes import (
    BOB,
    GATEWAY,
    LAPTOP,
    PHONE,
    ROOM,
    ROOM_JID,
    T0,
    USER,
    Gateway,
    codes,
    groupchat,
    join,
    make_gateway,
    summary,
)


@pytest.fixture
def gw() -> Gateway:
    return make_gateway()


# ----------------------------------------------------------------------------- occupants


async def test_occupants_coming_changing_and_going_reach_every_resource(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    dave = Occupant("dave", contact=ContactAddress("irc.libera.chat", "dave"))
    gw.muc.on_event(USER, OccupantJoined(ROOM, dave))
    gw.muc.on_event(USER, OccupantChanged(ROOM, Occupant("dave", Role.MODERATOR)))
    gw.muc.on_event(USER, OccupantLeft(ROOM, "dave", "Quit: bye"))
    sent = gw.take()
    assert [(summary(s)[0], str(s["to"])) for s in sent] == [
        ("presence/available", LAPTOP),
        ("presence/available", PHONE),
        ("presence/available", LAPTOP),
        ("presence/available", PHONE),
        ("presence/unavailable", LAPTOP),
        ("presence/unavailable", PHONE),
    ]
    assert sent[0]["muc"]["jid"] == JID(f"dave%irc.libera.chat@{GATEWAY}")
    assert sent[2]["muc"]["role"] == "moderator"
    assert sent[4]["muc"]["role"] == "none" and sent[4]["status"] == "Quit: bye"


async def test_own_role_change_carries_110(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, OccupantChanged(ROOM, Occupant("alice", Role.MODERATOR)))
    [own] = gw.take()
    assert codes(own) == {110} and own["muc"]["role"] == "moderator"


async def test_kick_of_another_carries_307_actor_and_reason(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, Kicked(ROOM, "carol", actor="bob", reason="spam"))
    [kick] = gw.take()
    assert summary(kick) == ("presence/unavailable", f"{ROOM_JID}/carol", PHONE)
    assert codes(kick) == {307}
    assert kick["muc"]["item"]["actor"]["nick"] == "bob"
    assert kick["muc"]["item"]["reason"] == "spam"


async def test_kicked_user_is_out_of_the_room(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, Kicked(ROOM, "alice", actor="bob", reason="flood"))
    [kick] = gw.take()
    assert codes(kick) == {110, 307}
    assert gw.muc.joined_rooms(USER) == []
    await gw.muc.on_groupchat(groupchat(PHONE, "still here?"), ROOM)
    assert gw.take()[0]["error"]["condition"] == "not-acceptable"


async def test_room_left_by_the_network_tells_the_user(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, RoomLeft(ROOM, "Parted from another client"))
    [gone] = gw.take()
    assert gone["type"] == "unavailable" and 110 in codes(gone)
    assert gone["status"] == "Parted from another client"
    assert gw.muc.joined_rooms(USER) == []


async def test_subject_change_is_shown_from_who_set_it(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, SubjectChanged(ROOM, "New \x02topic", by="bob"))
    [subject] = gw.take()
    assert summary(subject) == ("message/subject", f"{ROOM_JID}/bob", PHONE)
    assert subject["subject"] == "New topic"


# ----------------------------------------------------------------------------- messages


async def test_groupchat_is_sent_reflected_with_ids_and_archived(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    await gw.muc.on_groupchat(groupchat(PHONE, "hello", msg_id="c1", origin_id="o1"), ROOM)
    assert gw.applied[-1] == SendMessage(ROOM, "hello", "o1")
    sent = gw.take()
    assert [summary(s) for s in sent] == [
        ("message", f"{ROOM_JID}/alice", LAPTOP),
        ("message", f"{ROOM_JID}/alice", PHONE),
    ]
    for reflection in sent:
        assert reflection["type"] == "groupchat" and reflection["body"] == "hello"
        assert reflection["id"] == "c1" and reflection["origin_id"]["id"] == "o1"
        assert reflection["stanza_id"]["by"] == ROOM_JID
    [archived] = gw.archive.messages
    assert archived.stanza_id == sent[0]["stanza_id"]["id"]
    assert (archived.sender, archived.body, archived.own, archived.origin_id) == (
        "alice",
        "hello",
        True,
        "o1",
    )
    gw.muc.on_event(USER, MessageIn(ROOM, "hello", nick="alice", own=True, echo_of="o1"))
    assert gw.take() == []


async def test_groupchat_without_origin_id_uses_the_stanza_id(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_groupchat(groupchat(PHONE, "hi", msg_id="c9"), ROOM)
    assert gw.applied[-1] == SendMessage(ROOM, "hi", "c9")


async def test_own_words_from_another_client_are_shown_from_the_own_nick(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, MessageIn(ROOM, "from my other client", nick="alice", own=True))
    [message] = gw.take()
    assert summary(message) == ("message", f"{ROOM_JID}/alice", PHONE)


async def test_groupchat_from_a_resource_not_in_the_room_is_not_acceptable(gw: Gateway) -> None:
    await join(gw, PHONE)
    await gw.muc.on_groupchat(groupchat(LAPTOP, "hello"), ROOM)
    [refusal] = gw.take()
    assert summary(refusal) == ("message/error", ROOM_JID, LAPTOP)
    assert refusal["error"]["condition"] == "not-acceptable"
    assert refusal["error"]["text"] == (
        "You are not in #chan%irc.libera.chat; join it before sending."
    )
    assert not any(isinstance(a, SendMessage) for a in gw.applied)


async def test_refused_groupchat_is_an_error_and_not_reflected(gw: Gateway) -> None:
    await join(gw)
    gw.sessions.session.failures[SendMessage] = Forbidden("#chan is moderated (+m)")
    await gw.muc.on_groupchat(groupchat(PHONE, "hello"), ROOM)
    [refusal] = gw.take()
    assert refusal["type"] == "error" and refusal["error"]["condition"] == "forbidden"
    assert gw.archive.messages == []


async def test_subject_message_sets_the_subject(gw: Gateway) -> None:
    await join(gw)
    message = groupchat(PHONE)
    message["subject"] = "Release day"
    await gw.muc.on_groupchat(message, ROOM)
    assert gw.applied[-1] == SetSubject(ROOM, "Release day")
    assert gw.take() == []


async def test_me_is_an_action_both_ways(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_groupchat(groupchat(PHONE, "/me waves"), ROOM)
    assert gw.applied[-1] == SendMessage(ROOM, "waves", "m1", action=True)
    assert gw.take()[0]["body"] == "/me waves"
    gw.muc.on_event(USER, MessageIn(ROOM, "dances", nick="bob", action=True))
    assert gw.take()[0]["body"] == "/me dances"


async def test_incoming_message_gets_stanza_id_delay_and_is_archived(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(
        USER, MessageIn(ROOM, "late\x03 one\x00\n", nick="bob", when=T0, legacy_id="L1")
    )
    [message] = gw.take()
    assert summary(message) == ("message", f"{ROOM_JID}/bob", PHONE)
    assert message["body"] == "late one\n"
    assert message["delay"]["stamp"] == T0
    [archived] = gw.archive.messages
    assert message["stanza_id"]["id"] == archived.stanza_id
    assert message["stanza_id"]["by"] == ROOM_JID
    assert (archived.legacy_id, archived.when) == ("L1", T0)


async def test_message_without_when_has_no_delay(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, MessageIn(ROOM, "now", nick="bob"))
    [message] = gw.take()
    assert message.xml.find("{urn:xmpp:delay}delay") is None


async def test_empty_bodies_are_ignored_both_ways(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_groupchat(groupchat(PHONE, "\x01"), ROOM)
    gw.muc.on_event(USER, MessageIn(ROOM, "  ", nick="bob"))
    assert gw.take() == [] and len(gw.applied) == 1 and gw.archive.messages == []


async def test_private_message_goes_to_the_occupants_contact(gw: Gateway) -> None:
    await join(gw)
    for nick in ("bob", "carol"):
        message = Message(stream=None)
        message["from"], message["to"], message["type"] = PHONE, f"{ROOM_JID}/{nick}", "chat"
        message["id"], message["body"] = f"pm-{nick}", "psst"
        await gw.muc.on_private(message, ROOM)
    assert gw.applied[-2:] == [
        SendMessage(BOB.contact, "psst", "pm-bob"),  # type: ignore[arg-type]
        SendMessage(ContactAddress("irc.libera.chat", "carol"), "psst", "pm-carol"),
    ]
