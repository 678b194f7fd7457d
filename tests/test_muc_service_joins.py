"""MucService joins, leaves and nick changes: the stanzas a MUC client receives, in order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from slixmpp import JID
from slixmpp.stanza import Message, Presence

from bridge.errors import (
    AuthFailed,
    Forbidden,
    InviteOnly,
    NickInUse,
    NoSuchRoom,
    NotConnected,
    RoomFull,
)
from bridge.events import (
    ChangeNick,
    JoinFailed,
    JoinRoom,
    LeaveRoom,
    MessageIn,
    NickChanged,
    Role,
    RoomJoined,
)
from bridge.muc import ArchivedMessage
from tests.muc_service_fakes import (
    BOB,
    CAROL,
    GATEWAY,
    LAPTOP,
    PHONE,
    ROOM,
    ROOM_JID,
    T0,
    USER,
    Gateway,
    codes,
    join,
    join_presence,
    leave_presence,
    make_gateway,
    summary,
)


@pytest.fixture
def gw() -> Gateway:
    return make_gateway()


# ----------------------------------------------------------------------------- joining


async def test_join_sends_occupants_then_self_then_history_then_subject(gw: Gateway) -> None:
    gw.archive.messages.append(ArchivedMessage("s1", "bob", "earlier", T0))
    await gw.muc.on_presence(join_presence(PHONE, "alice", password="key"), ROOM)
    assert gw.applied == [JoinRoom(ROOM, "alice", "key")]
    assert gw.take() == []
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", (BOB, CAROL), own_role=Role.PARTICIPANT))
    await gw.muc.settled()
    sent = gw.take()
    assert [summary(s) for s in sent] == [
        ("presence/available", f"{ROOM_JID}/bob", PHONE),
        ("presence/available", f"{ROOM_JID}/carol", PHONE),
        ("presence/available", f"{ROOM_JID}/alice", PHONE),
        ("message", f"{ROOM_JID}/bob", PHONE),
        ("message/subject", ROOM_JID, PHONE),
    ]
    bob, _, own, history, subject = sent
    assert (bob["muc"]["role"], bob["muc"]["affiliation"]) == ("moderator", "admin")
    assert bob["muc"]["jid"] == JID(f"bob%irc.libera.chat@{GATEWAY}")
    assert codes(own) == {110, 100}
    assert own["muc"]["jid"] == JID(PHONE)
    assert history["body"] == "earlier"
    assert history["delay"]["from"] == JID(ROOM_JID)
    assert history["delay"]["stamp"] == T0
    assert history["stanza_id"]["by"] == ROOM_JID
    assert subject["subject"] == "" and subject["body"] == ""


async def test_subject_comes_from_the_nick_that_set_it(gw: Gateway) -> None:
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", (BOB,), subject="Welcome", subject_by="bob"))
    await gw.muc.settled()
    subject = gw.take()[-1]
    assert summary(subject) == ("message/subject", f"{ROOM_JID}/bob", PHONE)
    assert subject["subject"] == "Welcome"


async def test_nick_given_by_the_network_adds_210(gw: Gateway) -> None:
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice_", (BOB,)))
    await gw.muc.settled()
    own = gw.take()[1]
    assert str(own["from"]) == f"{ROOM_JID}/alice_"
    assert codes(own) == {110, 100, 210}


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ({"maxstanzas": "0"}, []),
        ({"maxstanzas": "2"}, ["m6", "m7"]),
        ({}, ["m3", "m4", "m5", "m6", "m7"]),
    ],
)
async def test_history_honours_the_limits_asked_for(
    gw: Gateway, history: dict[str, str], expected: list[str]
) -> None:
    gw.archive.messages.extend(
        ArchivedMessage(f"s{n}", "bob", f"m{n}", T0 + timedelta(minutes=n)) for n in range(8)
    )
    await gw.muc.on_presence(join_presence(PHONE, "alice", **history), ROOM)
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", ()))
    await gw.muc.settled()
    bodies = [s["body"] for s in gw.take() if isinstance(s, Message) and s["body"]]
    assert bodies == expected


async def test_history_maxchars_keeps_only_the_newest_that_fit(gw: Gateway) -> None:
    gw.archive.messages.extend(ArchivedMessage(f"s{n}", "bob", f"m{n}", T0) for n in range(3))
    await gw.muc.on_presence(join_presence(PHONE, "alice", maxchars="700"), ROOM)
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", ()))
    await gw.muc.settled()
    bodies = [s["body"] for s in gw.take() if isinstance(s, Message) and s["body"]]
    assert 0 < len(bodies) < 3 and bodies[-1] == "m2"


async def test_action_in_history_reads_as_me(gw: Gateway) -> None:
    gw.archive.messages.append(ArchivedMessage("s1", "bob", "waves", T0, action=True))
    sent = await join(gw)
    assert [s["body"] for s in sent if isinstance(s, Message) and s["body"]] == ["/me waves"]


async def test_live_traffic_during_the_history_read_waits_for_the_subject(gw: Gateway) -> None:
    gw.archive.reading = asyncio.Event()
    gw.archive.messages.append(ArchivedMessage("s1", "bob", "old", T0))
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", (BOB,)))
    gw.muc.on_event(USER, MessageIn(ROOM, "new", nick="bob"))
    gw.archive.reading.set()
    await gw.muc.settled()
    kinds = [(summary(s)[0], s["body"]) for s in gw.take()]
    assert kinds[2:] == [("message", "old"), ("message/subject", ""), ("message", "new")]


async def test_second_resource_is_answered_from_state_without_a_second_join(gw: Gateway) -> None:
    await join(gw, PHONE, "alice")
    sent = await join(gw, LAPTOP, "ali")
    assert [a for a in gw.applied if isinstance(a, JoinRoom)] == [JoinRoom(ROOM, "alice")]
    assert [summary(s) for s in sent] == [
        ("presence/available", f"{ROOM_JID}/bob", LAPTOP),
        ("presence/available", f"{ROOM_JID}/carol", LAPTOP),
        ("presence/available", f"{ROOM_JID}/alice", LAPTOP),
        ("message/subject", ROOM_JID, LAPTOP),
    ]
    assert codes(sent[2]) == {110, 100, 210}


async def test_room_joined_by_the_network_alone_answers_a_later_join_from_memory(
    gw: Gateway,
) -> None:
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", (BOB,)))
    assert gw.take() == [] and gw.muc.joined_rooms(USER) == [(ROOM, "alice")]
    gw.muc.on_event(USER, MessageIn(ROOM, "while nobody watched", nick="bob"))
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    await gw.muc.settled()
    assert gw.applied == []
    sent = gw.take()
    assert [s["body"] for s in sent if isinstance(s, Message)] == ["while nobody watched", ""]


async def test_two_resources_joining_at_once_both_get_the_room(gw: Gateway) -> None:
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    await gw.muc.on_presence(join_presence(LAPTOP, "alice"), ROOM)
    assert len(gw.applied) == 1
    gw.muc.on_event(USER, RoomJoined(ROOM, "alice", ()))
    await gw.muc.settled()
    own = [s for s in gw.take() if isinstance(s, Presence)]
    assert sorted(str(s["to"]) for s in own) == [LAPTOP, PHONE]


@pytest.mark.parametrize(
    ("error", "condition"),
    [
        (NickInUse("alice is taken"), "conflict"),
        (AuthFailed("wrong key"), "not-authorized"),
        (Forbidden("you are banned"), "forbidden"),
        (InviteOnly("invite only"), "registration-required"),
        (RoomFull("full"), "service-unavailable"),
        (NoSuchRoom("no #chan on irc.libera.chat"), "item-not-found"),
    ],
)
async def test_refused_join_is_an_error_presence(
    gw: Gateway, error: Exception, condition: str
) -> None:
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    gw.muc.on_event(USER, JoinFailed(ROOM, error))
    [refusal] = gw.take()
    assert summary(refusal) == ("presence/error", f"{ROOM_JID}/alice", PHONE)
    assert refusal["id"] == "join1"
    assert refusal["error"]["condition"] == condition
    assert refusal["error"]["text"] == str(error)
    assert gw.muc.joined_rooms(USER) == []


async def test_join_when_the_session_cannot_start_is_an_error_presence(gw: Gateway) -> None:
    gw.sessions.refusal = NotConnected("irc.libera.chat is unreachable")
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    [refusal] = gw.take()
    assert refusal["type"] == "error"
    assert refusal["error"]["condition"] == "remote-server-timeout"
    assert "unreachable" in refusal["error"]["text"]


async def test_join_without_a_nick_says_how_to_add_one(gw: Gateway) -> None:
    presence = join_presence(PHONE, "x")
    presence["to"] = ROOM_JID
    await gw.muc.on_presence(presence, ROOM)
    [refusal] = gw.take()
    assert refusal["error"]["condition"] == "bad-request"
    assert f"{ROOM_JID}/nick" in refusal["error"]["text"]
    assert gw.applied == []


# ----------------------------------------------------------------------------- leaving, nicks


async def test_last_resource_leaving_leaves_the_room(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_presence(leave_presence(PHONE, "alice"), ROOM)
    [gone] = gw.take()
    assert summary(gone) == ("presence/unavailable", f"{ROOM_JID}/alice", PHONE)
    assert 110 in codes(gone)
    assert gw.applied[-1] == LeaveRoom(ROOM)
    assert gw.muc.joined_rooms(USER) == []


async def test_one_of_two_resources_leaving_keeps_the_other_in(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    await gw.muc.on_presence(leave_presence(PHONE, "alice"), ROOM)
    [gone] = gw.take()
    assert summary(gone) == ("presence/unavailable", f"{ROOM_JID}/alice", PHONE)
    assert not any(isinstance(a, LeaveRoom) for a in gw.applied)
    gw.muc.on_event(USER, MessageIn(ROOM, "hi", nick="bob"))
    assert [str(s["to"]) for s in gw.take()] == [LAPTOP]


async def test_status_update_to_a_joined_room_does_nothing(gw: Gateway) -> None:
    await join(gw)
    presence = Presence(stream=None)
    presence["from"], presence["to"], presence["show"] = PHONE, f"{ROOM_JID}/alice", "away"
    await gw.muc.on_presence(presence, ROOM)
    assert gw.take() == [] and len(gw.applied) == 1


async def test_nick_change_asks_the_network_then_shows_303(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    await gw.muc.on_presence(join_presence(PHONE, "alicia"), ROOM)
    assert gw.applied[-1] == ChangeNick(ROOM, "alicia")
    gw.muc.on_event(USER, NickChanged(ROOM, "alice", "alicia"))
    sent = gw.take()
    assert [summary(s) for s in sent] == [
        ("presence/unavailable", f"{ROOM_JID}/alice", LAPTOP),
        ("presence/unavailable", f"{ROOM_JID}/alice", PHONE),
        ("presence/available", f"{ROOM_JID}/alicia", LAPTOP),
        ("presence/available", f"{ROOM_JID}/alicia", PHONE),
    ]
    assert codes(sent[0]) == {303, 110} and sent[0]["muc"]["item_nick"] == "alicia"
    assert codes(sent[2]) == {110}
    assert gw.muc.joined_rooms(USER) == [(ROOM, "alicia")]


async def test_refused_nick_change_is_a_conflict(gw: Gateway) -> None:
    await join(gw)
    gw.sessions.session.failures[ChangeNick] = NickInUse("carol is taken")
    await gw.muc.on_presence(join_presence(PHONE, "carol"), ROOM)
    [refusal] = gw.take()
    assert summary(refusal) == ("presence/error", f"{ROOM_JID}/carol", PHONE)
    assert refusal["error"]["condition"] == "conflict"


async def test_someone_elses_nick_change(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, NickChanged(ROOM, "bob", "robert"))
    old, new = gw.take()
    assert codes(old) == {303} and old["muc"]["item_nick"] == "robert"
    assert str(new["from"]) == f"{ROOM_JID}/robert" and new["muc"]["role"] == "moderator"
