"""The XEP-0045 face of every plugin room: routes the user's stanzas and the plugin's events.

A plugin only emits room events and receives room actions; everything a MUC client
expects (join order, status codes, reflection, self-ping, admin queries) happens here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence

from slixmpp import JID
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import ContactAddress, Grammar, RoomAddress
from bridge.attachments import AttachmentRenderer
from bridge.errors import (
    BadRequest,
    LegacyError,
    NotConnected,
    XmppError,
    error_text,
    xmpp_error_for,
)
from bridge.events import (
    ChangeNick,
    JoinRoom,
    KickOccupant,
    LeaveRoom,
    LegacyEvent,
    Occupant,
    Role,
    SendMessage,
    SetOccupantPower,
    SetSubject,
    UserAction,
)
from bridge.message_ids import MessageIds
from bridge.muc.incoming import (
    AdminItem,
    admin_items,
    client_message_id,
    join_options,
    split_action,
    subject_of,
)
from bridge.muc.joins import JoinAnswers
from bridge.muc.output import RoomOutput, now
from bridge.muc.ports import ArchivedMessage, RoomArchive, SessionAccess
from bridge.muc.relations import RoomRelations
from bridge.muc.room_events import RoomEvents
from bridge.muc.stanzas import (
    NS_MUC_ADMIN,
    Status,
    clean_text,
    error_stanza,
    iq_result,
    room_message,
)
from bridge.muc.state import JoinStep, LeaveStep, PendingJoin, RoomRegistry, RoomState
from bridge.network import Capabilities
from bridge.relation_stanzas import ClientRelations, copy_relations, read_relations
from bridge.relations import Relations

__all__ = ["ArchivedMessage", "MucService", "RoomArchive", "SessionAccess"]

log = logging.getLogger(__name__)

_NOT_ACCEPTABLE = XmppError("cancel", "not-acceptable")
_IGNORED_PRESENCE = {"subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe"}
ROOM_FEATURES = [
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/muc#stable_id",
    "http://jabber.org/protocol/muc#self-ping-optimization",
    "muc_nonanonymous",
    "urn:xmpp:sid:0",
]


class MucService:
    """Multi-user chat for one gateway, over whatever rooms its network has."""

    def __init__(
        self,
        *,
        gateway_jid: str,
        grammar: Grammar,
        send: Callable[[StanzaBase], None],
        sessions: SessionAccess,
        archive: RoomArchive,
        max_history: int = 20,
        keep_joined: Callable[[str, RoomAddress], bool] = lambda user, room: False,
        relations: Relations | None = None,
        attachments: AttachmentRenderer | None = None,
    ) -> None:
        self._sessions = sessions
        self._archive = archive
        self._keep_joined = keep_joined
        self._relations = relations or Relations(Capabilities(), MessageIds(grammar, gateway_jid))
        self._registry = RoomRegistry()
        self._output = RoomOutput(gateway_jid=gateway_jid, grammar=grammar, send=send)
        self._joins = JoinAnswers(self._output, archive, max_history)
        self._room_relations = RoomRelations(self._registry, self._output, self._relations.ids)
        self._events = RoomEvents(
            self._registry,
            self._output,
            archive,
            self._joins,
            self._room_relations,
            attachments or AttachmentRenderer(None),
        )

    # ------------------------------------------------------------------ from the user

    async def on_presence(self, presence: Presence, room: RoomAddress) -> None:
        """A presence to ``room/nick``: join, nick change, status update or leave."""
        sender: JID = presence["from"]
        kind = presence["type"]
        if kind in _IGNORED_PRESENCE:
            return
        if kind in ("unavailable", "error"):
            await self._leave(sender, room, presence["status"])
            return
        nick = presence["to"].resource
        if not nick:
            hint = f"Add your nick to the address to join: {self._output.room_jid(room)}/nick"
            self._refuse(presence, BadRequest(hint))
            return
        options = join_options(presence)
        state = self._registry.ensure(sender.bare, room)
        if not options.is_join and state.has_occupant_resource(str(sender)) and state.nick == nick:
            return  # a status update: the legacy network has no per-room presence
        join = PendingJoin(str(sender), nick, options.history, presence["id"] or None)
        step = state.request_join(join)
        if step is JoinStep.ANSWER:
            self._joins.start(sender.bare, state, [join])
        elif step is JoinStep.CHANGE_NICK:
            await self._act(sender.bare, ChangeNick(room, nick), presence)
        elif step is JoinStep.START:
            try:
                session = await self._sessions.session_for(sender.bare)
                await session.apply(JoinRoom(room, nick, options.password))
            except Exception as error:
                self._events.fail_joins(sender.bare, state, error)

    async def _leave(self, sender: JID, room: RoomAddress, reason: str) -> None:
        state = self._registry.get(sender.bare, room)
        if state is None:
            return
        was_occupant = state.has_occupant_resource(str(sender))
        step = state.leave(str(sender))
        if was_occupant:
            self._output.own_exit(state, [str(sender)])
        if step is LeaveStep.LAST and self._keep_joined(sender.bare, room):
            return  # a persistent room: the gateway stays in and keeps the history
        if step is LeaveStep.LAST:
            self._registry.drop(sender.bare, room)
            try:
                session = await self._sessions.session_for(sender.bare)
                await session.apply(LeaveRoom(room, reason))
            except Exception:
                log.exception("leaving %s on the legacy network failed", room)

    async def on_groupchat(self, message: Message, room: RoomAddress) -> None:
        """A groupchat message to the room: say it, or set the subject."""
        sender: JID = message["from"]
        state = self._registry.get(sender.bare, room)
        if state is None or not state.has_occupant_resource(str(sender)):
            text = f"You are not in {self._output.room_label(room)}; join it before sending."
            self._error(message, _NOT_ACCEPTABLE, text)
            return
        subject = subject_of(message)
        if subject is not None:
            await self._act(sender.bare, SetSubject(room, clean_text(subject)), message)
            return
        relations = read_relations(message)
        body, action = split_action(clean_text(message["body"]))
        if relations.is_signal or not (body.strip() or relations.shared_urls):
            signal = await self._signal(sender.bare, room, relations, message)
            if signal is not None and await self._act(sender.bare, signal, message):
                self._room_relations.reflect_signal(state, message, relations)
            return
        xmpp_id = client_message_id(message) or str(uuid.uuid4())
        state.expect_echo(xmpp_id)
        request = await self._relations.message(
            sender.bare, room, body, xmpp_id=xmpp_id, action=action, relations=relations
        )
        if await self._act(sender.bare, request, message):
            self._reflect(sender.bare, state, message, body, action, xmpp_id)

    async def _signal(
        self, user: str, room: RoomAddress, relations: ClientRelations, message: Message
    ) -> UserAction | None:
        """The action for a reaction, retraction, marker or chat state; errors answered here."""
        try:
            return await self._relations.signal(user, room, relations)
        except LegacyError as error:
            self._refuse(message, error)
            return None

    def _reflect(
        self, user: str, state: RoomState, message: Message, body: str, action: bool, xmpp_id: str
    ) -> None:
        """The room's echo of the user's own message, keeping the client's ids."""
        archived = ArchivedMessage(
            stanza_id=str(uuid.uuid4()),
            sender=state.nick or "",
            body=body,
            when=now(),
            action=action,
            origin_id=xmpp_id,
            own=True,
        )
        message_id = message.xml.get("id") or xmpp_id
        origin_id = message.xml.find("{urn:xmpp:sid:0}origin-id")
        origin = self._output.occupant_jid(state.room, archived.sender)
        room_jid = self._output.room_jid(state.room)
        for resource in sorted(state.resources):
            reflection = room_message(
                origin=origin,
                to=resource,
                body=f"/me {body}" if action else body,
                message_id=message_id,
                stanza_id=archived.stanza_id,
                room_jid=room_jid,
                origin_id=None if origin_id is None else origin_id.get("id"),
            )
            copy_relations(message, reflection)
            self._output.send(reflection)
        self._archive.record(user, state.room, archived)
        self._room_relations.remember(user, state, archived, message_id)

    async def on_private(self, message: Message, room: RoomAddress) -> None:
        """A chat message to ``room/nick``: a private message to that occupant."""
        sender: JID = message["from"]
        nick = message["to"].resource
        body, action = split_action(clean_text(message["body"]))
        if not nick or not body.strip():
            return
        state = self._registry.get(sender.bare, room)
        occupant = state.occupants.get(nick) if state else None
        contact = (occupant and occupant.contact) or ContactAddress(room.server, nick)
        xmpp_id = client_message_id(message) or str(uuid.uuid4())
        await self._act(sender.bare, SendMessage(contact, body, xmpp_id, action), message)

    async def on_iq(self, iq: Iq, room: RoomAddress) -> bool:
        """Self-ping and muc#admin; False for anything else (disco is the gateway's)."""
        sender: JID = iq["from"]
        state = self._registry.get(sender.bare, room)
        in_room = state is not None and state.has_occupant_resource(str(sender))
        if iq.xml.find("{urn:xmpp:ping}ping") is not None and iq["to"].resource:
            if state is not None and in_room and iq["to"].resource == state.nick:
                self._output.send(self._result(iq))
            else:
                text = (
                    f"You are not in {self._output.room_label(room)} under this nick; join again."
                )
                self._error(iq, _NOT_ACCEPTABLE, text)
            return True
        if iq.xml.find(f"{{{NS_MUC_ADMIN}}}query") is None:
            return False
        if state is None or not in_room:
            text = f"Join {self._output.room_label(room)} before managing it."
            self._error(iq, _NOT_ACCEPTABLE, text)
        elif iq["type"] == "get":
            self._admin_list(iq, state)
        elif iq["type"] == "set":
            await self._admin_change(iq, sender.bare, state)
        return True

    def _admin_list(self, iq: Iq, state: RoomState) -> None:
        try:
            wanted = admin_items(iq)
        except BadRequest as error:
            self._refuse(iq, error)
            return
        everyone = [state.own_occupant(), *state.occupants.values()]
        matching = [
            (o, self._output.real_jid(o))
            for o in sorted(everyone, key=lambda o: o.nick)
            if any(o.role == w.role or o.affiliation == w.affiliation for w in wanted)
        ]
        self._output.send(self._result(iq, matching))

    async def _admin_change(self, iq: Iq, user: str, state: RoomState) -> None:
        try:
            actions = [self._admin_action(state, item) for item in admin_items(iq)]
        except BadRequest as error:
            self._refuse(iq, error)
            return
        for action in actions:
            if not await self._act(user, action, iq):
                return
        self._output.send(self._result(iq))

    def _admin_action(self, state: RoomState, item: AdminItem) -> UserAction:
        nick = item.nick or self._nick_of_jid(state, item.jid)
        if item.role is Role.NONE:
            return KickOccupant(state.room, nick, item.reason)
        if item.role is None and item.affiliation is None:
            raise BadRequest(f"Say which role or affiliation {nick} should get.")
        return SetOccupantPower(state.room, nick, item.role, item.affiliation)

    def _nick_of_jid(self, state: RoomState, jid: str | None) -> str:
        for occupant in state.occupants.values():
            if jid and self._output.real_jid(occupant) == JID(jid).bare:
                return occupant.nick
        raise BadRequest(f"Nobody in {self._output.room_label(state.room)} has the JID {jid}.")

    def room_disco_info(
        self, user: str, room: RoomAddress
    ) -> tuple[list[tuple[str, str, str]], list[str]]:
        """Identities (category, type, name) and features of a room, for the gateway's disco."""
        return [("conference", "text", self._output.room_label(room))], list(ROOM_FEATURES)

    # ------------------------------------------------------------------ from the network

    def on_event(self, user: str, event: LegacyEvent) -> bool:
        """Apply a plugin event; False when it is not about a room (Disconnected: always)."""
        return self._events.handle(user, event)

    def resource_gone(self, full_jid: JID) -> None:
        """The resource went offline: it is in no room any more (the user's nick stays)."""
        self._registry.forget_resource(full_jid.bare, str(full_jid))

    def user_gone(self, user: str, status: int = Status.SHUTDOWN) -> None:
        """The session ended: every joined resource is told it is out, with *status*."""
        for state in self._registry.drop_user(user):
            if state.joined:
                self._output.own_exit(state, state.resources, status)
            self._events.fail_joins(user, state, NotConnected("The gateway is shutting down."))

    async def rejoin(
        self, user: str, room: RoomAddress, nick: str, resources: Sequence[str]
    ) -> None:
        """After a gateway restart: rejoin on the network and answer the user's online
        resources as if they had asked, so their clients are back in without a click."""
        state = self._registry.ensure(user, room)
        if state.joined or state.pending:
            return
        for resource in resources:
            state.request_join(PendingJoin(resource, nick))
        try:
            session = await self._sessions.session_for(user)
            await session.apply(JoinRoom(room, nick))
        except Exception as error:
            self._events.fail_joins(user, state, error)

    def resources_in(self, user: str, room: RoomAddress) -> list[str]:
        """The user's resources (full JIDs) in *room*."""
        state = self._registry.get(user, room)
        return sorted(state.resources) if state is not None else []

    def joined_rooms(self, user: str) -> list[tuple[RoomAddress, str]]:
        """(room, nick) of every room the user is in or was in before the link broke."""
        return [(s.room, s.nick) for s in self._registry.rooms_of(user) if s.nick]

    async def settled(self) -> None:
        """Wait until join answers under way (history reads) are sent."""
        await self._joins.settled()

    # ------------------------------------------------------------------ helpers

    async def _act(self, user: str, action: UserAction, request: Presence | Message | Iq) -> bool:
        """Apply *action* on the user's session; on failure answer *request* with the error."""
        try:
            session = await self._sessions.session_for(user)
            await session.apply(action)
        except Exception as error:
            self._refuse(request, error)
            return False
        return True

    def _refuse(self, request: Presence | Message | Iq, error: Exception) -> None:
        self._error(request, xmpp_error_for(error), error_text(error))

    def _error(self, request: Presence | Message | Iq, error: XmppError, text: str) -> None:
        """Answer *request* with a stanza error, from where it was sent to."""
        self._output.send(
            error_stanza(
                type(request),
                origin=str(request["to"]),
                to=str(request["from"]),
                stanza_id=request["id"] or None,
                error=error,
                text=text,
            )
        )

    def _result(self, iq: Iq, items: list[tuple[Occupant, str | None]] | None = None) -> Iq:
        return iq_result(origin=str(iq["to"]), to=str(iq["from"]), iq_id=iq["id"], items=items)
