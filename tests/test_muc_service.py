"""MucService against a fake plugin session: the stanzas a MUC client receives, in order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from slixmpp import JID
from slixmpp.plugins.xep_0045.stanza import MUCAdminItem
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import AddressGrammar, ContactAddress, RoomAddress, ServerAddress
from bridge.errors import (
    AuthFailed,
    Forbidden,
    InviteOnly,
    NickInUse,
    NoSuchRoom,
    NotConnected,
    NotSupported,
    RoomFull,
)
from bridge.events import (
    Affiliation,
    ChangeNick,
    Connected,
    ContactPresence,
    Disconnected,
    JoinFailed,
    JoinRoom,
    Kicked,
    KickOccupant,
    LeaveRoom,
    MessageIn,
    NickChanged,
    Occupant,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    Role,
    RoomJoined,
    RoomLeft,
    SendMessage,
    SetOccupantPower,
    SetSubject,
    Show,
    SubjectChanged,
    UserAction,
)
from bridge.muc import ArchivedMessage, MucService
from bridge.network import RoomListing, SoftwareVersion

GATEWAY = "irc.example.org"
ROOM = RoomAddress("irc.libera.chat", "#chan")
ROOM_JID = "#chan%irc.libera.chat@irc.example.org"
USER = "alice@example.com"
PHONE = f"{USER}/phone"
LAPTOP = f"{USER}/laptop"
BOB = Occupant("bob", Role.MODERATOR, Affiliation.ADMIN, ContactAddress("irc.libera.chat", "bob"))
CAROL = Occupant("carol")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeSession:
    applied: list[UserAction] = field(default_factory=list)
    failures: dict[type, Exception] = field(default_factory=dict)

    async def apply(self, action: UserAction) -> None:
        self.applied.append(action)
        if type(action) in self.failures:
            raise self.failures[type(action)]

    async def list_rooms(self, server: ServerAddress) -> list[RoomListing]:
        raise NotSupported("not in these tests")

    async def contact_version(self, contact: ContactAddress) -> SoftwareVersion:
        raise NotSupported("not in these tests")

    async def ping_contact(self, contact: ContactAddress) -> float:
        raise NotSupported("not in these tests")

    async def close(self, reason: str) -> None:
        pass


@dataclass
class FakeSessions:
    session: FakeSession = field(default_factory=FakeSession)
    refusal: Exception | None = None

    async def session_for(self, user: str) -> FakeSession:
        if self.refusal is not None:
            raise self.refusal
        return self.session


@dataclass
class MemoryArchive:
    messages: list[ArchivedMessage] = field(default_factory=list)
    reading: asyncio.Event | None = None

    def record(self, user: str, room: RoomAddress, message: ArchivedMessage) -> None:
        self.messages.append(message)

    async def recent(
        self, user: str, room: RoomAddress, *, max_stanzas: int | None, since: datetime | None
    ) -> list[ArchivedMessage]:
        if self.reading is not None:
            await self.reading.wait()
        found = [m for m in self.messages if since is None or m.when >= since]
        return found[-max_stanzas:] if max_stanzas else found


@dataclass
class Gateway:
    muc: MucService
    sessions: FakeSessions
    archive: MemoryArchive
    sent: list[StanzaBase]

    @property
    def applied(self) -> list[UserAction]:
        return self.sessions.session.applied

    def take(self) -> list[StanzaBase]:
        taken = list(self.sent)
        self.sent.clear()
        return taken


@pytest.fixture
def gw() -> Gateway:
    sent: list[StanzaBase] = []
    sessions, archive = FakeSessions(), MemoryArchive()
    muc = MucService(
        gateway_jid=GATEWAY,
        grammar=AddressGrammar(),
        send=sent.append,
        sessions=sessions,
        archive=archive,
        max_history=5,
    )
    return Gateway(muc, sessions, archive, sent)


# ----------------------------------------------------------------------------- stanza helpers


def join_presence(
    resource: str, nick: str, *, password: str | None = None, **history: str
) -> Presence:
    presence = Presence(stream=None)
    presence["from"], presence["to"], presence["id"] = resource, f"{ROOM_JID}/{nick}", "join1"
    presence.enable("muc_join")
    if password:
        presence["muc_join"]["password"] = password
    for name, value in history.items():
        presence["muc_join"]["history"][name] = value
    return presence


def leave_presence(resource: str, nick: str) -> Presence:
    presence = Presence(stream=None)
    presence["from"], presence["to"], presence["type"] = (
        resource,
        f"{ROOM_JID}/{nick}",
        "unavailable",
    )
    return presence


def groupchat(
    resource: str, body: str = "", *, msg_id: str = "m1", origin_id: str | None = None
) -> Message:
    message = Message(stream=None)
    message["from"], message["to"], message["type"] = resource, ROOM_JID, "groupchat"
    message["id"] = msg_id
    if body:
        message["body"] = body
    if origin_id:
        message["origin_id"]["id"] = origin_id
    return message


def admin_iq(resource: str, kind: str, **item: str) -> Iq:
    iq = Iq(stream=None)
    iq["from"], iq["to"], iq["type"], iq["id"] = resource, ROOM_JID, kind, "admin1"
    query = iq["mucadmin_query"]
    admin_item = MUCAdminItem()
    for name, value in item.items():
        admin_item[name] = value
    query.append(admin_item)
    return iq


def codes(stanza: StanzaBase) -> set[int]:
    return set(stanza["muc"]["status_codes"])


def summary(stanza: StanzaBase) -> tuple[str, str, str]:
    """(kind, from, to) with the kind refined: presence/unavailable, message/subject …"""
    kind = stanza.name
    if isinstance(stanza, Presence):
        kind += "/" + stanza["type"]
    elif stanza["type"] == "error":
        kind += "/error"
    elif stanza.xml.find("{jabber:client}subject") is not None:
        kind += "/subject"
    return kind, str(stanza["from"]), str(stanza["to"])


async def join(
    gw: Gateway, resource: str = PHONE, nick: str = "alice", *occupants: Occupant
) -> list[StanzaBase]:
    """Join *resource* (answering from the fake network when needed); the stanzas it got."""
    await gw.muc.on_presence(join_presence(resource, nick), ROOM)
    if any(isinstance(a, JoinRoom) for a in gw.applied) and not gw.muc.joined_rooms(USER):
        gw.muc.on_event(USER, RoomJoined(ROOM, nick, occupants or (BOB, CAROL)))
    await gw.muc.settled()
    return gw.take()


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


# ----------------------------------------------------------------------------- iq


async def test_admin_kick_and_power_changes_reach_the_network(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="none", reason="spam"), ROOM)
    await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="moderator"), ROOM)
    await gw.muc.on_iq(
        admin_iq(PHONE, "set", jid=f"bob%irc.libera.chat@{GATEWAY}", affiliation="member"), ROOM
    )
    assert gw.applied[-3:] == [
        KickOccupant(ROOM, "carol", "spam"),
        SetOccupantPower(ROOM, "carol", role=Role.MODERATOR),
        SetOccupantPower(ROOM, "bob", affiliation=Affiliation.MEMBER),
    ]
    assert [(s["type"], s["id"]) for s in gw.take()] == [("result", "admin1")] * 3


async def test_admin_refusal_is_an_iq_error(gw: Gateway) -> None:
    await join(gw)
    gw.sessions.session.failures[KickOccupant] = Forbidden("You need channel operator status.")
    assert await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="none"), ROOM)
    [refusal] = gw.take()
    assert refusal["type"] == "error" and refusal["error"]["condition"] == "forbidden"
    assert refusal["error"]["text"] == "You need channel operator status."


async def test_admin_bad_role_names_the_allowed_ones(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="king"), ROOM)
    [refusal] = gw.take()
    assert (
        refusal["error"]["condition"] == "bad-request" and "moderator" in refusal["error"]["text"]
    )


async def test_admin_list_by_role(gw: Gateway) -> None:
    await join(gw)
    assert await gw.muc.on_iq(admin_iq(PHONE, "get", role="moderator"), ROOM)
    [result] = gw.take()
    items = result.xml.findall("{http://jabber.org/protocol/muc#admin}query/{*}item")
    assert [(i.get("nick"), i.get("jid")) for i in items] == [
        ("bob", f"bob%irc.libera.chat@{GATEWAY}")
    ]


async def test_self_ping_answers_only_a_joined_resource_under_its_nick(gw: Gateway) -> None:
    await join(gw)
    answers = []
    for resource, nick in ((PHONE, "alice"), (LAPTOP, "alice"), (PHONE, "ghost")):
        iq = Iq(stream=None)
        iq["from"], iq["to"], iq["type"], iq["id"] = resource, f"{ROOM_JID}/{nick}", "get", "p1"
        iq.enable("ping")
        assert await gw.muc.on_iq(iq, ROOM)
        [answer] = gw.take()
        answers.append(
            (answer["type"], answer["error"]["condition"] if answer["type"] == "error" else "")
        )
    assert answers == [("result", ""), ("error", "not-acceptable"), ("error", "not-acceptable")]


async def test_other_iqs_and_disco_are_left_to_the_gateway(gw: Gateway) -> None:
    iq = Iq(stream=None)
    iq["from"], iq["to"], iq["type"] = PHONE, ROOM_JID, "get"
    ElementTree.SubElement(iq.xml, "{http://jabber.org/protocol/disco#info}query")
    assert not await gw.muc.on_iq(iq, ROOM)
    identities, features = gw.muc.room_disco_info(USER, ROOM)
    assert identities == [("conference", "text", "#chan%irc.libera.chat")]
    assert "http://jabber.org/protocol/muc" in features


# ----------------------------------------------------------------------------- link loss


async def test_network_loss_sends_333_and_a_rejoin_joins_again(gw: Gateway) -> None:
    await join(gw)
    assert gw.muc.on_event(USER, Disconnected("Connection reset", reconnecting=True)) is False
    [gone] = gw.take()
    assert summary(gone) == ("presence/unavailable", f"{ROOM_JID}/alice", PHONE)
    assert codes(gone) == {110, 333} and gone["status"] == "Connection reset"
    assert gw.muc.joined_rooms(USER) == [(ROOM, "alice")]
    gw.muc.on_event(USER, MessageIn(ROOM, "lost", nick="bob"))
    assert gw.take() == []
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    assert [a for a in gw.applied if isinstance(a, JoinRoom)] == [JoinRoom(ROOM, "alice")] * 2


async def test_network_loss_on_another_server_leaves_the_room_alone(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, Disconnected("gone", server="irc.oftc.net"))
    assert gw.take() == []


async def test_shutdown_sends_332_to_every_resource(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    gw.muc.user_gone(USER)
    sent = gw.take()
    assert sorted(str(s["to"]) for s in sent) == [LAPTOP, PHONE]
    assert all(codes(s) == {110, 332} and s["type"] == "unavailable" for s in sent)
    assert gw.muc.joined_rooms(USER) == []


async def test_forgotten_resource_gets_nothing_more(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    gw.muc.resource_gone(JID(PHONE))
    gw.muc.on_event(USER, MessageIn(ROOM, "hi", nick="bob"))
    assert [str(s["to"]) for s in gw.take()] == [LAPTOP]


def test_events_that_are_not_about_rooms_are_declined(gw: Gateway) -> None:
    contact = ContactAddress("irc.libera.chat", "bob")
    assert not gw.muc.on_event(USER, MessageIn(contact, "pm", nick="bob"))
    assert not gw.muc.on_event(USER, ContactPresence(contact, Show.AWAY))
    assert not gw.muc.on_event(USER, Connected())
    assert gw.muc.on_event(USER, OccupantJoined(ROOM, CAROL))
