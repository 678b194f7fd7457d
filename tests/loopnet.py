"""A network plugin whose legacy network lives in this process, for end-to-end core tests.

Not a fake server: it is a real plugin on the real contract, used through a real Prosody.
The "network" is a :class:`World` of rooms and people that a test drives directly
(someone says something, someone joins) and inspects (what did the gateway send).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from bridge.addressing import AddressGrammar, ContactAddress, RoomAddress, ServerAddress
from bridge.errors import AuthFailed, NickInUse, NoSuchRoom, NotSupported
from bridge.events import (
    Attachment,
    ChangeNick,
    Connected,
    ContactPresence,
    JoinRoom,
    LeaveRoom,
    LegacyEvent,
    MarkDisplayed,
    MessageIn,
    MessageSent,
    NickChanged,
    Occupant,
    OccupantJoined,
    OccupantLeft,
    React,
    Retract,
    RoomJoined,
    SendMessage,
    SetPresence,
    SetSubject,
    Show,
    SubjectChanged,
    UserAction,
    WatchContact,
)
from bridge.network import (
    Capabilities,
    CommandContext,
    HostResolver,
    LoginContext,
    MediaStream,
    NetworkCommand,
    RoomListing,
    SoftwareVersion,
)

SERVER = "loop.example"


class LoopRegistration(BaseModel):
    username: str = Field(title="Login name", min_length=1)
    password: SecretStr = Field(title="Password")


@dataclass
class Room:
    members: dict[str, str | None] = field(default_factory=dict)
    """nick → the bridged user behind it, or None for a person of the legacy network."""
    topic: str = ""
    key: str | None = None
    log: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class World:
    rooms: dict[str, Room] = field(default_factory=dict)
    sessions: dict[str, LoopSession] = field(default_factory=dict)
    private: list[tuple[str, str, str]] = field(default_factory=list)
    """(from, to, body) of every private message."""
    logins: list[str] = field(default_factory=list)
    logouts: list[str] = field(default_factory=list)
    actions: list[tuple[str, UserAction]] = field(default_factory=list)
    relations: list[tuple[str, React | Retract | MarkDisplayed]] = field(default_factory=list)
    presences: list[tuple[str, SetPresence]] = field(default_factory=list)
    """(user, action) of every reaction, retraction and read marker the gateway asked for."""
    sent_ids: dict[str, str] = field(default_factory=dict)
    """xmpp id → the legacy id the network gave each of a bridged user's messages."""
    next_id: int = 0
    files: dict[str, tuple[bytes, Attachment]] = field(default_factory=dict)
    """ref → the bytes of a file someone sent, and how it was announced."""

    def new_id(self) -> str:
        self.next_id += 1
        return f"loop-{self.next_id}"

    def room(self, name: str) -> Room:
        return self.rooms.setdefault(name, Room())

    def say(
        self,
        room: str,
        nick: str,
        body: str,
        when: datetime | None = None,
        *,
        legacy_id: str | None = None,
        replaces: str | None = None,
        reply_to: str | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        """A person of the legacy network speaks in *room*."""
        self.room(room).log.append((nick, body))
        event = MessageIn(
            RoomAddress(SERVER, room),
            body,
            nick=nick,
            when=when,
            legacy_id=legacy_id,
            replaces=replaces,
            reply_to=reply_to,
            attachments=attachments,
        )
        self._to_room(room, event)

    def keep_file(self, data: bytes, *, name: str, media_type: str) -> Attachment:
        """A file put on the network's media store, as a message would announce it."""
        attachment = Attachment(self.new_id(), name, media_type, len(data))
        self.files[attachment.ref] = (data, attachment)
        return attachment

    def say_with_file(
        self, room: str, nick: str, body: str, *, data: bytes, name: str, media_type: str
    ) -> Attachment:
        """A person of the legacy network sends a file to *room*, with *body* as caption."""
        attachment = self.keep_file(data, name=name, media_type=media_type)
        self.say(room, nick, body, attachments=(attachment,))
        return attachment

    def tell_room(self, room: str, event: LegacyEvent) -> None:
        """Any event about *room* (a reaction, a removal) reaches the bridged users in it."""
        self._to_room(room, event)

    def arrive(self, room: str, nick: str) -> None:
        self.room(room).members[nick] = None
        self._to_room(room, OccupantJoined(RoomAddress(SERVER, room), Occupant(nick)), skip=nick)

    def depart(self, room: str, nick: str) -> None:
        self.room(room).members.pop(nick, None)
        self._to_room(room, OccupantLeft(RoomAddress(SERVER, room), nick))

    def whisper(
        self, nick: str, user: str, body: str, attachments: tuple[Attachment, ...] = ()
    ) -> None:
        """A person sends a private message to a bridged user."""
        event = MessageIn(ContactAddress(SERVER, nick), body, attachments=attachments)
        self.sessions[user].emit(event)

    def _to_room(self, room: str, event: LegacyEvent, skip: str | None = None) -> None:
        for nick, user in self.room(room).members.items():
            if user is not None and nick != skip and user in self.sessions:
                self.sessions[user].emit(event)


WORLDS: dict[str, World] = {}


class LoopMedia:
    """The world's files, served in small chunks as a network's media store would."""

    CHUNK = 1024

    def __init__(self, world: World) -> None:
        self.world = world

    async def open_media(self, ref: str) -> MediaStream:
        if ref not in self.world.files:
            raise NoSuchRoom(f"no file {ref} on {SERVER}")
        data, attachment = self.world.files[ref]
        return MediaStream(attachment.media_type, len(data), attachment.name, self._chunks(data))

    async def _chunks(self, data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), self.CHUNK):
            yield data[start : start + self.CHUNK]


class LoopSession:
    def __init__(self, world: World, context: LoginContext) -> None:
        self.world = world
        self.user = context.user
        self.emit = context.emit
        self.nicks: dict[str, str] = {}
        self.media = LoopMedia(world)

    async def apply(self, action: UserAction) -> None:
        self.world.actions.append((self.user, action))
        if isinstance(action, JoinRoom):
            self._join(action)
        elif isinstance(action, LeaveRoom):
            nick = self.nicks.pop(action.room.name, None)
            if nick is not None:
                self.world.room(action.room.name).members.pop(nick, None)
                self.world._to_room(action.room.name, OccupantLeft(action.room, nick))
        elif isinstance(action, SendMessage):
            self._send(action)
        elif isinstance(action, ChangeNick):
            room = self.world.room(action.room.name)
            old = self.nicks[action.room.name]
            if action.nick in room.members:
                raise NickInUse(f"{action.nick} is taken in {action.room.name}")
            room.members[action.nick] = room.members.pop(old)
            self.nicks[action.room.name] = action.nick
            self.world._to_room(action.room.name, NickChanged(action.room, old, action.nick))
        elif isinstance(action, SetSubject):
            self.world.room(action.room.name).topic = action.subject
            nick = self.nicks[action.room.name]
            self.world._to_room(action.room.name, SubjectChanged(action.room, action.subject, nick))
        elif isinstance(action, SetPresence):
            self.world.presences.append((self.user, action))
        elif isinstance(action, React | Retract | MarkDisplayed):
            self.world.relations.append((self.user, action))
        elif isinstance(action, WatchContact):
            online = any(action.contact.name in room.members for room in self.world.rooms.values())
            show = Show.AVAILABLE if online and action.watch else Show.OFFLINE
            self.emit(ContactPresence(action.contact, show))
        else:
            raise NotSupported(f"loopnet has no {type(action).__name__}")

    def _join(self, action: JoinRoom) -> None:
        name = action.room.name
        if name.startswith("#missing"):
            raise NoSuchRoom(f"{name} does not exist on {SERVER}")
        room = self.world.room(name)
        if room.key is not None and room.key != action.password:
            raise AuthFailed(f"{name} needs the right key")
        nick = action.nick
        while nick in room.members and room.members[nick] != self.user:
            nick += "_"
        room.members[nick] = self.user
        self.nicks[name] = nick
        occupants = tuple(Occupant(n) for n in room.members if n != nick)
        self.world._to_room(name, OccupantJoined(action.room, Occupant(nick)), skip=nick)
        self.emit(RoomJoined(action.room, nick, occupants, subject=room.topic))

    def _send(self, action: SendMessage) -> None:
        target = action.target
        legacy_id = self.world.new_id()
        self.world.sent_ids[action.xmpp_id] = legacy_id
        self.emit(MessageSent(target, action.xmpp_id, legacy_id))
        if isinstance(target, RoomAddress):
            nick = self.nicks.get(target.name)
            if nick is None:
                raise NoSuchRoom(f"not in {target.name}")
            self.world.room(target.name).log.append((nick, action.body))
            event = MessageIn(
                target,
                action.body,
                nick=nick,
                action=action.action,
                legacy_id=legacy_id,
                replaces=action.replaces,
                reply_to=action.reply_to,
            )
            for other_nick, user in self.world.room(target.name).members.items():
                if user is not None and user != self.user and user in self.world.sessions:
                    self.world.sessions[user].emit(event)
                del other_nick
        elif isinstance(target, ContactAddress):
            self.world.private.append((self.user, target.name, action.body))
        elif isinstance(target, ServerAddress):
            self.world.private.append((self.user, f"server:{target.server}", action.body))

    async def list_rooms(self, server: ServerAddress) -> list[RoomListing]:
        return [
            RoomListing(RoomAddress(SERVER, name), len(room.members), room.topic)
            for name, room in self.world.rooms.items()
            if room.key is None
        ]

    async def contact_version(self, contact: ContactAddress) -> SoftwareVersion:
        raise NotSupported("people on loop.example run no client one could ask")

    async def ping_contact(self, contact: ContactAddress) -> float:
        raise NotSupported("loop.example cannot ping people")

    async def close(self, reason: str) -> None:
        self.world.logouts.append(self.user)
        self.world.sessions.pop(self.user, None)
        for name, nick in self.nicks.items():
            self.world.room(name).members.pop(nick, None)


class LoopNetwork:
    name = "loop"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.world = WORLDS.setdefault(str(options.get("world", "default")), World())
        self.capabilities = Capabilities(
            max_message_bytes=400,
            typing=True,
            # The "relations" option makes a network with edits, reactions, replies and receipts.
            edits=bool(options.get("relations", False)),
            reactions=bool(options.get("relations", False)),
            replies=bool(options.get("relations", False)),
            receipts=bool(options.get("relations", False)),
            needs_registration=bool(options.get("needs_registration", True)),
        )
        self.grammar = AddressGrammar(room_prefixes="#")
        self.registration_form = LoopRegistration
        self.server_registration: NetworkCommand | None = None
        self.room_settings: type[BaseModel] | None = None
        self.commands: Sequence[NetworkCommand] = (
            NetworkCommand(
                node="who",
                name="Who is logged in",
                form=_Empty,
                where="gateway",
                run=self._who,
            ),
            NetworkCommand(
                node="shutdown-world",
                name="Forget every room (admins)",
                form=_Empty,
                where="gateway",
                run=self._forget,
                admin_only=True,
            ),
        )

    async def check_registration(
        self, user: str, form: BaseModel, *, hosts: HostResolver, previous: BaseModel | None
    ) -> BaseModel:
        assert isinstance(form, LoopRegistration)
        if form.password.get_secret_value() == "wrong":
            raise AuthFailed("loop.example refused that password")
        return form

    async def remove_registration(
        self, user: str, settings: BaseModel | None, hosts: HostResolver
    ) -> None:
        """Nothing to undo: the network keeps no account for the gateway."""

    async def login(self, context: LoginContext) -> LoopSession:
        settings = context.settings
        if isinstance(settings, LoopRegistration) and settings.password.get_secret_value() == "x":
            raise AuthFailed("loop.example refused the stored password")
        session = LoopSession(self.world, context)
        self.world.sessions[context.user] = session
        self.world.logins.append(context.user)
        context.emit(Connected())
        return session

    async def _who(self, context: CommandContext, form: BaseModel) -> str:
        return "logged in: " + ", ".join(sorted(self.world.sessions))

    async def _forget(self, context: CommandContext, form: BaseModel) -> str:
        self.world.rooms.clear()
        return "all rooms forgotten"


class _Empty(BaseModel):
    pass


def create(options: Mapping[str, Any]) -> LoopNetwork:
    return LoopNetwork(options)
