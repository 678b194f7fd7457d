"""Legacy relations in rooms: edits, replies, reactions, removals, read markers, typing.

The plugin names messages by legacy id; the room's resources get them by the XMPP ids
they saw (the message's ``id`` for corrections, its stanza-id for the rest, as XEP-0308,
XEP-0444, XEP-0461, XEP-0424/0425 and XEP-0333 ask in group chats).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from slixmpp.stanza import Message

from bridge.addressing import RoomAddress
from bridge.events import (
    Displayed,
    LegacyEvent,
    MessageIn,
    MessageSent,
    Reaction,
    Retraction,
    Typing,
)
from bridge.message_ids import KnownMessage, MessageIds
from bridge.muc.output import RoomOutput
from bridge.muc.ports import ArchivedMessage
from bridge.muc.state import RoomRegistry, RoomState
from bridge.relation_stanzas import (
    ClientRelations,
    Decorate,
    chat_state_message,
    displayed_message,
    reactions_message,
    relation_links,
    retraction_message,
    signal_copy,
)


class RoomRelations:
    """Keeps the room id map and turns legacy relation events into room stanzas."""

    def __init__(self, registry: RoomRegistry, output: RoomOutput, ids: MessageIds) -> None:
        self._registry = registry
        self._output = output
        self._ids = ids

    def stanza_id_of(self, user: str, state: RoomState, legacy_id: str | None) -> str | None:
        """The stanza-id a message of the network already has here (backfilled, say)."""
        known = self._ids.by_legacy(user, state.room, legacy_id) if legacy_id else None
        return known.stanza_id if known is not None else None

    def remember(
        self, user: str, state: RoomState, message: ArchivedMessage, message_id: str
    ) -> None:
        """A room message sent to the resources under *message_id* and its stanza-id."""
        self._ids.remember(
            user,
            state.room,
            message_id=message_id,
            stanza_id=message.stanza_id,
            legacy_id=message.legacy_id,
            author=message.sender,
            body=message.body,
        )

    def reflect_signal(
        self, state: RoomState, message: Message, relations: ClientRelations
    ) -> None:
        """The user's reaction or retraction, back to their resources as the room would."""
        if not relations.is_signal:
            return
        origin = self._output.occupant_jid(state.room, state.nick or "")
        room_jid = self._output.room_jid(state.room)
        for resource in sorted(state.resources):
            self._output.send(
                signal_copy(
                    message, origin=origin, to=resource, stanza_id=str(uuid.uuid4()), by=room_jid
                )
            )

    def echoed(self, user: str, state: RoomState, event: MessageIn) -> None:
        """The network's echo of the user's message: it tells the message's legacy id."""
        if event.echo_of is not None and event.legacy_id is not None:
            self._ids.bind(user, state.room, event.echo_of, event.legacy_id)

    def links(self, user: str, state: RoomState, event: MessageIn) -> Decorate | None:
        """The <replace/> and <reply/> an incoming message needs, when the originals are known."""
        replaced = self._known(user, state, event.replaces)
        answered = self._known(user, state, event.reply_to)
        author = answered.author if answered is not None else ""
        return relation_links(
            None if replaced is None else replaced.message_id,
            None if answered is None else answered.stanza_id,
            self._output.occupant_jid(state.room, author) if author else None,
        )

    def handle(self, user: str, event: LegacyEvent) -> bool:
        """Apply a relation event about a room; False when it is not one."""
        if isinstance(event, MessageSent):
            if not isinstance(event.target, RoomAddress):
                return False
            self._ids.bind(user, event.target, event.xmpp_id, event.legacy_id)
            return True
        if not isinstance(event, Reaction | Retraction | Displayed | Typing):
            return False
        if not isinstance(event.source, RoomAddress):
            return False
        state = self._registry.get(user, event.source)
        if state is not None and state.joined:
            self._send(user, state, event)
        return True

    def _send(
        self, user: str, state: RoomState, event: Reaction | Retraction | Displayed | Typing
    ) -> None:
        room_jid = self._output.room_jid(state.room)
        nick = state.nick if isinstance(event, Reaction) and event.own else event.nick
        origin = self._output.occupant_jid(state.room, nick) if nick else room_jid
        build: Callable[[str], Message]
        if isinstance(event, Typing):
            build = lambda to: chat_state_message(  # noqa: E731
                origin=origin, to=to, kind="groupchat", composing=event.active
            )
        else:
            target = self._known(
                user,
                state,
                event.legacy_id if isinstance(event, Displayed) else event.target_legacy_id,
            )
            if target is None:
                return
            build = self._builder(state, event, origin, target)
        for resource in sorted(state.resources):
            self._output.send(build(resource))

    def _builder(
        self,
        state: RoomState,
        event: Reaction | Retraction | Displayed,
        origin: str,
        target: KnownMessage,
    ) -> Callable[[str], Message]:
        room_jid = self._output.room_jid(state.room)
        if isinstance(event, Reaction):
            return lambda to: reactions_message(
                origin=origin,
                to=to,
                kind="groupchat",
                target_id=target.stanza_id,
                emojis=event.emojis,
            )
        if isinstance(event, Displayed):
            return lambda to: displayed_message(
                origin=origin, to=to, kind="groupchat", target_id=target.stanza_id
            )
        if event.by is not None:
            moderator = self._output.occupant_jid(state.room, event.by)
            return lambda to: retraction_message(
                origin=room_jid,
                to=to,
                kind="groupchat",
                target_id=target.stanza_id,
                moderator=moderator,
                reason=event.reason,
            )
        return lambda to: retraction_message(
            origin=origin, to=to, kind="groupchat", target_id=target.stanza_id, reason=event.reason
        )

    def _known(self, user: str, state: RoomState, legacy_id: str | None) -> KnownMessage | None:
        return None if legacy_id is None else self._ids.by_legacy(user, state.room, legacy_id)
