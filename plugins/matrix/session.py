"""One XMPP user on Matrix: the sync loop's events to the core, the user's actions to Matrix.

A room the user has not joined from XMPP stays quiet: its state is kept up to date and its
messages are held (bounded) until the core asks to join it, then the room is announced
with everyone in it and the held messages follow. Announcing rooms unasked would make the
core's restart rejoin believe the user's clients were already back in them.
Direct chats (``m.direct``, plugins.matrix.direct_chats) are no rooms to XMPP.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import ClientError
from nio import ErrorResponse, JoinResponse, RoomGetStateResponse

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress
from bridge.errors import (
    LegacyError,
    NoSuchContact,
    NoSuchRoom,
    NotConnected,
    NotSupported,
)
from bridge.events import (
    ChangeNick,
    Connected,
    ContactListed,
    Disconnected,
    InviteContact,
    JoinRoom,
    KickOccupant,
    LeaveRoom,
    LegacyEvent,
    MarkDisplayed,
    MessageIn,
    MessageSent,
    React,
    RenameRoom,
    Retract,
    RoomAvatar,
    RoomJoined,
    RoomListed,
    SendMessage,
    SendTyping,
    SetOccupantPower,
    SetPresence,
    SetSubject,
    UserAction,
    WatchContact,
)
from bridge.network import LoginContext, RoomListing, SoftwareVersion
from plugins.matrix import actions
from plugins.matrix.actions import failure
from plugins.matrix.addresses import address_of_room, room_id_of, user_id_of
from plugins.matrix.backfill import history_of, listed_address
from plugins.matrix.direct_chats import DIRECT_TYPE, DirectChats
from plugins.matrix.media import MatrixMedia
from plugins.matrix.members import RoomMembers
from plugins.matrix.presence import PresenceRelay
from plugins.matrix.reactions import RelationBook
from plugins.matrix.room_state import (
    after_own_join,
    announces_encryption,
    avatar_in,
    state_text,
    topic_of,
)
from plugins.matrix.settings import MatrixOptions
from plugins.matrix.sync_loop import (
    MatrixApi,
    RoomUpdate,
    SyncBatch,
    SyncLoop,
)
from plugins.matrix.translate import (
    ENCRYPTED_ROOM,
    RoomContext,
    absorb_state,
    encryption_notice,
    translate,
    translate_receipts,
    translate_typing,
)

log = logging.getLogger(__name__)

HELD_MESSAGES_PER_ROOM = 200
TYPING_TIMEOUT_MS = 30_000


@dataclass(slots=True)
class _Room:
    """What the session knows of one joined Matrix room."""

    room_id: str
    members: RoomMembers = field(default_factory=RoomMembers)
    addresses: list[RoomAddress] = field(default_factory=list)
    """The room JIDs the user joined it by (an alias, its id); empty until joined from XMPP."""
    held: deque[MessageIn] = field(default_factory=lambda: deque(maxlen=HELD_MESSAGES_PER_ROOM))
    typing: frozenset[str] = frozenset()
    book: RelationBook = field(default_factory=RelationBook)
    encrypted: bool = False


def _readdress(event: LegacyEvent, address: RoomAddress) -> LegacyEvent:
    """*event* as it happened in the room known by *address*."""
    if isinstance(getattr(event, "source", None), RoomAddress):
        return cast(LegacyEvent, dataclasses.replace(cast(Any, event), source=address))
    if isinstance(getattr(event, "room", None), RoomAddress):
        return cast(LegacyEvent, dataclasses.replace(cast(Any, event), room=address))
    return event


class MatrixSession:
    """The bridge.network.LegacySession of one user on one homeserver."""

    def __init__(self, client: Any, context: LoginContext, options: MatrixOptions) -> None:
        self._client = client
        self._context = context
        self._emit = context.emit
        self._api = MatrixApi(client)
        self.media = MatrixMedia(client, context.hosts)
        self._user_id: str = client.user_id
        self._rooms: dict[str, _Room] = {}
        self._direct = DirectChats(client, self._api, self._user_id, self._emit)
        self._presence = PresenceRelay(
            self._api, self._user_id, self._emit, lambda user_id: user_id in self._direct
        )
        self._loop = SyncLoop(
            self._api,
            context.store,
            self._from_loop,
            self._take,
            timeline_limit=options.timeline_limit,
            poll_ms=options.sync_timeout_ms,
            presence=lambda: self._presence.own,
        )
        self._task: asyncio.Task[None] | None = None
        self._announce_before_next_batch = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await self._direct.load()
            await self._loop.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("the Matrix sync loop of %s stopped", self._context.user)
            self._emit(Disconnected(f"The gateway stopped following Matrix: {error}", False))

    # ------------------------------------------------------------------ sync → core

    def _from_loop(self, event: LegacyEvent) -> None:
        """The sync loop's link state; back after a loss, the rooms are announced again so
        the resources that were in them (told 333) are let back in."""
        self._emit(event)
        if isinstance(event, Connected):
            self._announce_before_next_batch = True

    async def _announce_again(self) -> None:
        for room in list(self._rooms.values()):
            for address in list(room.addresses):
                try:
                    await self._join(address)
                except LegacyError as error:
                    log.info("could not rejoin %s: %s", room.room_id, error)

    async def _take(self, batch: SyncBatch) -> None:
        if self._announce_before_next_batch:
            # Before this batch's messages: the core drops room traffic until then.
            self._announce_before_next_batch = False
            await self._announce_again()
        for event in batch.account_data:
            if event.get("type") == DIRECT_TYPE:
                self._direct.take(event.get("content"))
        for update in batch.joined:
            self._take_room(update, history=batch.initial)
            if batch.initial:
                self._list(update)
        for room_id, invite_state in batch.invited.items():
            await self._direct.answer_invite(room_id, invite_state)
        self._presence.take(batch.presence)

    def _list(self, update: RoomUpdate) -> None:
        """At the first sync: the user's rooms and direct contacts, offered to the client."""
        contact = self._direct.contact_of_room(update.room_id)
        name = state_text(update.state, "m.room.name", "name") or ""
        if contact is not None:
            self._emit(ContactListed(contact, name))
            return
        address = listed_address(update)
        if address is not None:
            self._emit(RoomListed(address, name))

    def _take_room(self, update: RoomUpdate, *, history: bool) -> None:
        room = self._rooms.setdefault(update.room_id, _Room(update.room_id))
        absorb_state(update.state, room.members)
        context = self._context_of(room)
        if not room.encrypted and announces_encryption((*update.state, *update.timeline)):
            room.encrypted = True
            if room.addresses or context.direct is not None:
                self._deliver(room, context, encryption_notice(context))
        timeline = after_own_join(update.timeline, self._user_id)
        if history:
            absorb_state(update.timeline, room.members)
            backfill = history_of(update, context)
            if backfill is not None:
                self._emit(backfill)
            timeline = ()
        else:
            absorb_state(update.timeline[: len(update.timeline) - len(timeline)], room.members)
        for raw in timeline:
            translation = translate(raw, context)
            if translation.skipped:
                log.debug("%s: %s", room.room_id, translation.skipped)
            for event in translation.events:
                self._deliver(room, context, event)
        for raw in update.ephemeral:
            if raw.get("type") == "m.typing":
                translation, room.typing = translate_typing(raw, room.typing, context)
            else:
                translation = translate_receipts(raw, context)
            for event in translation.events:
                self._deliver(room, context, event)

    def _context_of(self, room: _Room) -> RoomContext:
        direct = self._direct.contact_of_room(room.room_id)
        address = room.addresses[0] if room.addresses else address_of_room(room.room_id)
        return RoomContext(address, self._user_id, room.members, direct=direct, book=room.book)

    def _deliver(self, room: _Room, context: RoomContext, event: LegacyEvent) -> None:
        if context.direct is not None:
            self._emit(event)  # our own too: the core shows it as sent from another client
            return
        if not room.addresses:
            if isinstance(event, MessageIn):
                room.held.append(event)
            return
        for address in room.addresses:
            self._emit(_readdress(event, address))

    # ------------------------------------------------------------------ core → Matrix

    async def apply(self, action: UserAction) -> None:
        try:
            await self._apply(action)
        except (ClientError, TimeoutError) as error:
            raise NotConnected(f"The homeserver did not answer: {error}") from None

    async def _apply(self, action: UserAction) -> None:
        if isinstance(action, JoinRoom):
            await self._join(action.room)
        elif isinstance(action, LeaveRoom):
            await self._leave(action.room)
        elif isinstance(action, SendMessage):
            await self._send(action)
        elif isinstance(action, SetSubject | RenameRoom):
            await actions.describe_room(self._client, self._joined_id(action.room), action)
        elif isinstance(action, InviteContact):
            room_id = self._joined_id(action.room)
            await actions.invite(self._client, room_id, user_id_of(action.contact))
        elif isinstance(action, KickOccupant):
            room_id, user_id = self._occupant(action.room, action.nick)
            await actions.kick(self._client, room_id, user_id, action.nick, action.reason)
        elif isinstance(action, SetOccupantPower):
            room_id, user_id = self._occupant(action.room, action.nick)
            await actions.set_power(self._client, room_id, user_id, action)
        elif isinstance(action, SendTyping):
            await self._typing(action)
        elif isinstance(action, React | Retract | MarkDisplayed):
            await self._relate(action)
        elif isinstance(action, ChangeNick):
            raise NotSupported("Not yet on Matrix: your nick is your Matrix display name.")
        elif isinstance(action, SetPresence):
            await self._presence.set_own(action)
        elif isinstance(action, WatchContact):
            self._presence.watch(action)

    async def _join(self, address: RoomAddress) -> None:
        answer = await self._client.join(room_id_of(address))
        if not isinstance(answer, JoinResponse):
            raise failure(answer, f"Could not join {room_id_of(address)}", NoSuchRoom)
        room_id = str(answer.room_id)
        state = await self._client.room_get_state(room_id)
        if not isinstance(state, RoomGetStateResponse):
            raise failure(state, f"Could not read the state of {room_id}", NoSuchRoom)
        room = self._rooms.setdefault(room_id, _Room(room_id))
        members = RoomMembers()
        absorb_state(state.events, members)
        room.members = members
        if address not in room.addresses:
            room.addresses.append(address)
        room.encrypted = room.encrypted or announces_encryption(state.events)
        own = members.occupant(self._user_id)
        subject, subject_by = topic_of(state.events, members)
        self._emit(
            RoomJoined(
                room=address,
                nick=own.nick,
                occupants=members.occupants(),
                subject=subject,
                subject_by=subject_by,
                own_role=own.role,
                own_affiliation=own.affiliation,
            )
        )
        picture = avatar_in(state.events)
        if picture is not None:
            self._emit(RoomAvatar(address, picture))
        if room.encrypted:
            self._emit(encryption_notice(self._context_of(room)))
        while room.held:
            self._emit(_readdress(room.held.popleft(), address))

    async def _leave(self, address: RoomAddress) -> None:
        room = self._room_by_address(address)
        if room is None:
            return
        room.addresses.remove(address)
        if room.addresses:
            return  # still joined from XMPP under another address
        answer = await self._client.room_leave(room.room_id)
        if isinstance(answer, ErrorResponse):
            log.info("leaving %s: %s", room.room_id, answer)

    async def _send(self, action: SendMessage) -> None:
        target = action.target
        if isinstance(target, ServerAddress):
            raise NotSupported("A Matrix server takes no messages: write to a room or a person.")
        room_id = (
            await self._direct.room_with(target)
            if isinstance(target, ContactAddress)
            else self._joined_id(target)
        )
        known = self._rooms.get(room_id)
        if known is not None and known.encrypted:
            raise NotSupported(ENCRYPTED_ROOM)
        tx_id = action.xmpp_id or str(uuid.uuid4())
        files = [await self.media.upload(url) for url in action.attachments]
        members = known.members.user_ids_by_nick() if known is not None else {}
        event_id = await actions.send_message(self._client, room_id, action, tx_id, files, members)
        if action.xmpp_id:
            self._emit(MessageSent(target, action.xmpp_id, event_id))

    async def _relate(self, action: React | Retract | MarkDisplayed) -> None:
        """A reaction, removal or read marker in a joined room or an existing direct chat."""
        target = action.target
        if isinstance(target, ContactAddress):
            direct = self._direct.existing(target)
            if direct is None:
                raise NoSuchContact(f"There is no chat with {user_id_of(target)} yet.")
            room_id = direct
        else:
            room_id = self._joined_id(target)
        if isinstance(action, React):
            book = self._rooms.setdefault(room_id, _Room(room_id)).book
            await actions.react(self._client, room_id, book, self._user_id, action)
        elif isinstance(action, Retract):
            await actions.retract(self._client, room_id, action.legacy_id)
        else:
            await actions.mark_displayed(self._client, room_id, action.legacy_id)

    def _occupant(self, address: RoomAddress, nick: str) -> tuple[str, str]:
        """The room id and the user id of *nick* in the joined room *address*."""
        room = self._room_by_address(address)
        if room is None:
            raise NoSuchRoom(f"You are not in {room_id_of(address)}.")
        target = next(
            (o.contact for o in room.members.occupants() if o.nick == nick and o.contact), None
        )
        if target is None:
            raise NoSuchContact(f"Nobody is called {nick!r} in {room_id_of(address)}.")
        return room.room_id, user_id_of(target)

    async def _typing(self, action: SendTyping) -> None:
        target = action.target
        if isinstance(target, ContactAddress):
            direct = self._direct.existing(target)
            if direct is None:
                return  # no chat yet: nothing to show typing in
            room_id = direct
        else:
            room_id = self._joined_id(target)
        await self._client.room_typing(room_id, action.active, TYPING_TIMEOUT_MS)

    def _room_by_address(self, address: RoomAddress) -> _Room | None:
        return next((r for r in self._rooms.values() if address in r.addresses), None)

    def _joined_id(self, address: RoomAddress) -> str:
        room = self._room_by_address(address)
        if room is None:
            raise NoSuchRoom(f"Join {room_id_of(address)} first.")
        return room.room_id

    # ------------------------------------------------------------------ queries, close

    async def list_rooms(self, server: ServerAddress) -> Sequence[RoomListing]:
        raise NotSupported("Matrix room directories come in a later version.")

    async def contact_version(self, contact: ContactAddress) -> SoftwareVersion:
        raise NotSupported("Matrix does not tell which client a person uses.")

    async def ping_contact(self, contact: ContactAddress) -> float:
        raise NotSupported("Matrix has no way to ping a person's client.")

    async def close(self, reason: str) -> None:
        """Stop syncing and drop the HTTP session; the device stays logged in for next time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        with contextlib.suppress(Exception):
            await self._client.close()
