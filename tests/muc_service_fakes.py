"""A MucService wired to a fake plugin session and an in-memory archive, and the stanzas a
MUC client sends it: shared by the test_muc_service_* files."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slixmpp.plugins.xep_0045.stanza import MUCAdminItem
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import AddressGrammar, ContactAddress, RoomAddress, ServerAddress
from bridge.errors import NotSupported
from bridge.events import Affiliation, JoinRoom, Occupant, Role, RoomJoined, UserAction
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


def make_gateway() -> Gateway:
    """A fresh MucService with its fakes; every test gets its own."""
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
