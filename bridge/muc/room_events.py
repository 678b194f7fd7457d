"""Legacy room events → XEP-0045 stanzas to the user's joined resources."""

from __future__ import annotations

import uuid

from slixmpp.stanza import Presence

from bridge.addressing import RoomAddress
from bridge.attachments import AttachmentRenderer, both
from bridge.delay import is_late
from bridge.errors import NotConnected, error_text, xmpp_error_for
from bridge.events import (
    Disconnected,
    JoinFailed,
    Kicked,
    LegacyEvent,
    MessageIn,
    NickChanged,
    NickChangeFailed,
    Occupant,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    RoomJoined,
    RoomLeft,
    SubjectChanged,
)
from bridge.muc.joins import JoinAnswers
from bridge.muc.output import RoomOutput, now
from bridge.muc.ports import ArchivedMessage, RoomArchive
from bridge.muc.relations import RoomRelations
from bridge.muc.stanzas import Status, clean_text, error_stanza, subject_message
from bridge.muc.state import RoomRegistry, RoomState

_ROOM_EVENTS = (
    RoomJoined,
    JoinFailed,
    OccupantJoined,
    OccupantChanged,
    OccupantLeft,
    NickChanged,
    NickChangeFailed,
    Kicked,
    RoomLeft,
    SubjectChanged,
)


class RoomEvents:
    """Applies one legacy event to the room state and tells the resources what changed."""

    def __init__(
        self,
        registry: RoomRegistry,
        output: RoomOutput,
        archive: RoomArchive,
        joins: JoinAnswers,
        relations: RoomRelations,
        attachments: AttachmentRenderer,
    ) -> None:
        self._registry = registry
        self._attachments = attachments
        self._output = output
        self._archive = archive
        self._joins = joins
        self._relations = relations

    def handle(self, user: str, event: LegacyEvent) -> bool:
        """Carry out *event*; False when it is not about a room."""
        if isinstance(event, Disconnected):
            self._link_lost(user, event)
            return False
        if isinstance(event, MessageIn):
            if not isinstance(event.source, RoomAddress):
                return False
            state = self._registry.get(user, event.source)
        elif isinstance(event, RoomJoined):
            # Also a join the network made by itself (a rejoin after restart, a forced join):
            # the room is then known, and a client joining later is answered from memory.
            state = self._registry.ensure(user, event.room)
        elif isinstance(event, _ROOM_EVENTS):
            state = self._registry.get(user, event.room)
        else:
            return self._relations.handle(user, event)
        if state is None:
            return True
        if isinstance(event, RoomJoined):
            self._joins.start(user, state, state.complete_join(event))
        elif isinstance(event, JoinFailed):
            self.fail_joins(user, state, event.error)
        elif not state.joined:
            return True
        elif isinstance(event, MessageIn):
            self._message(user, state, event)
        else:
            self._membership(user, state, event)
        return True

    def _membership(self, user: str, state: RoomState, event: LegacyEvent) -> None:
        if isinstance(event, OccupantJoined | OccupantChanged):
            occupant = event.occupant
            own = state.is_own(occupant.nick)
            state.put_occupant(occupant)
            self._output.occupant(state, state.own_occupant() if own else occupant, own=own)
        elif isinstance(event, OccupantLeft):
            left = state.remove_occupant(event.nick)
            self._output.occupant(state, left, leaving=True, reason=event.reason)
        elif isinstance(event, NickChanged):
            self._renamed(state, event)
        elif isinstance(event, NickChangeFailed):
            self._nick_refused(state, event)
        elif isinstance(event, Kicked):
            self._kicked(user, state, event)
        elif isinstance(event, SubjectChanged):
            self._subject(state, event)
        elif isinstance(event, RoomLeft):
            self._output.own_exit(state, state.resources, reason=event.reason)
            self._registry.drop(user, state.room)

    def fail_joins(self, user: str, state: RoomState, failure: BaseException) -> None:
        """Every resource waiting for *state*'s room gets the error; an unjoined room is dropped."""
        error, text = xmpp_error_for(failure), error_text(failure)
        for join in state.fail_join():
            self._output.send(
                error_stanza(
                    Presence,
                    origin=self._output.occupant_jid(state.room, join.nick),
                    to=join.resource,
                    stanza_id=join.presence_id,
                    error=error,
                    text=text,
                )
            )
        if not state.joined:
            self._registry.drop(user, state.room)

    def _nick_refused(self, state: RoomState, event: NickChangeFailed) -> None:
        """XEP-0045 §7.6: the resources that asked get an error from the nick they wanted."""
        for resource in state.resources:
            self._output.send(
                error_stanza(
                    Presence,
                    origin=self._output.occupant_jid(state.room, event.nick),
                    to=resource,
                    stanza_id=None,
                    error=xmpp_error_for(event.error),
                    text=error_text(event.error),
                )
            )

    def _renamed(self, state: RoomState, event: NickChanged) -> None:
        own = state.is_own(event.old)
        before = (
            state.own_occupant() if own else state.occupants.get(event.old, Occupant(event.old))
        )
        after = state.rename(event.old, event.new)
        self._output.occupant(
            state,
            before,
            own=own,
            leaving=True,
            new_nick=event.new,
            codes=[Status.NEW_NICK],
        )
        self._output.occupant(state, after, own=own)

    def _kicked(self, user: str, state: RoomState, event: Kicked) -> None:
        if state.is_own(event.nick):
            occupant, own = state.own_occupant(), True
        else:
            occupant, own = state.remove_occupant(event.nick), False
        self._output.occupant(
            state,
            occupant,
            own=own,
            leaving=True,
            codes=[Status.KICKED],
            actor=event.actor,
            reason=event.reason,
        )
        if own:
            self._registry.drop(user, state.room)

    def _subject(self, state: RoomState, event: SubjectChanged) -> None:
        state.subject, state.subject_by = event.subject, event.by
        origin = (
            self._output.occupant_jid(state.room, event.by)
            if event.by
            else self._output.room_jid(state.room)
        )
        for resource in sorted(state.resources):
            self._output.send(subject_message(origin=origin, to=resource, subject=event.subject))

    def _message(self, user: str, state: RoomState, event: MessageIn) -> None:
        if event.own and state.take_echo(event.echo_of):
            self._relations.echoed(user, state, event)
            return
        rendered = self._attachments.render(user, event)
        body = clean_text(rendered.body)
        if not body.strip():
            return
        sender = state.nick if event.own else event.nick
        # A message the archive already holds (a backfill's) keeps its stanza-id, and one row.
        archived_as = self._relations.stanza_id_of(user, state, event.legacy_id)
        message = ArchivedMessage(
            stanza_id=archived_as or str(uuid.uuid4()),
            sender=sender or "",
            body=body,
            when=event.when or now(),
            action=event.action,
            legacy_id=event.legacy_id,
            own=event.own,
        )
        decorate = both(self._relations.links(user, state, event), rendered.decorate)
        self._output.live(state, message, delayed=is_late(event.when), decorate=decorate)
        # Bookkeeping after sending: it is on nobody's way then.
        if archived_as is None:
            self._archive.record(user, state.room, message)
        self._relations.remember(user, state, message, message.stanza_id)

    def _link_lost(self, user: str, event: Disconnected) -> None:
        """Everyone out with 333 so clients rejoin; the rooms stay known for that rejoin."""
        for state in self._registry.rooms_of(user):
            if event.server is not None and state.room.server != event.server:
                continue
            if state.joined:
                self._output.own_exit(
                    state, state.resources, Status.NETWORK_LOSS, reason=event.reason
                )
            self.fail_joins(user, state, NotConnected(event.reason))
            state.lose_link(rejoining=event.reconnecting)
