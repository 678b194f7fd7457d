"""Addressing and fan-out: which JIDs a room speaks from, and who receives what.

While a resource is being answered a join (its history is read from the archive), the
room's later stanzas to it are held back and sent after the subject, so the client sees
XEP-0045's order: presences, self-presence, history, subject, then live traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from slixmpp import JID
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import Grammar, RoomAddress
from bridge.events import Occupant
from bridge.muc.ports import ArchivedMessage
from bridge.muc.stanzas import Status, occupant_presence, room_message, subject_message
from bridge.muc.state import PendingJoin, RoomState

_HoldKey = tuple[str, str]  # (resource, room JID)


class RoomOutput:
    """Turns room state into stanzas for the user's resources and sends them."""

    def __init__(
        self, *, gateway_jid: str, grammar: Grammar, send: Callable[[StanzaBase], None]
    ) -> None:
        self._gateway_jid = gateway_jid
        self._grammar = grammar
        self._send = send
        self._held: dict[_HoldKey, list[StanzaBase]] = {}

    # ------------------------------------------------------------------ addresses

    def room_jid(self, room: RoomAddress) -> str:
        return f"{self._grammar.format(room)}@{self._gateway_jid}"

    def occupant_jid(self, room: RoomAddress, nick: str) -> str:
        return f"{self.room_jid(room)}/{nick}"

    def room_label(self, room: RoomAddress) -> str:
        """The room as a person types it (``#chan%irc.example.org``)."""
        return self._grammar.label(room)

    def real_jid(self, occupant: Occupant) -> str | None:
        """The occupant's JID under the gateway, for non-anonymous rooms."""
        if occupant.contact is None:
            return None
        return f"{self._grammar.format(occupant.contact)}@{self._gateway_jid}"

    # ------------------------------------------------------------------ sending

    def send(self, stanza: StanzaBase) -> None:
        """Send now, or queue behind a join answer in progress for that resource."""
        if not self._held:  # nearly always: no join is being answered
            self._send(stanza)
            return
        key = (str(stanza["to"]), JID(stanza["from"]).bare)
        held = self._held.get(key)
        if held is None:
            self._send(stanza)
        else:
            held.append(stanza)

    def hold(self, resource: str, room: RoomAddress) -> None:
        self._held.setdefault((resource, self.room_jid(room)), [])

    def held_ids(self, resource: str, room: RoomAddress) -> set[str]:
        """Stanza ids already queued for the resource: history must not repeat them."""
        held = self._held.get((resource, self.room_jid(room)), [])
        return {s["stanza_id"]["id"] for s in held if isinstance(s, Message)}

    def release(self, resource: str, room: RoomAddress) -> None:
        for stanza in self._held.pop((resource, self.room_jid(room)), []):
            self._send(stanza)

    # ------------------------------------------------------------------ presences

    def occupant(
        self,
        state: RoomState,
        occupant: Occupant,
        *,
        resources: Iterable[str] | None = None,
        own: bool = False,
        codes: Iterable[int] = (),
        leaving: bool = False,
        new_nick: str | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> None:
        """*occupant*'s presence to *resources* (all joined ones by default); *own* adds 110."""
        targets = sorted(state.resources if resources is None else resources)
        for resource in targets:
            self.send(
                occupant_presence(
                    origin=self.occupant_jid(state.room, occupant.nick),
                    to=resource,
                    occupant=occupant,
                    real_jid=resource if own else self.real_jid(occupant),
                    codes=[Status.SELF, *codes] if own else codes,
                    leaving=leaving,
                    new_nick=new_nick,
                    actor=actor,
                    reason=reason,
                )
            )

    def own_exit(
        self, state: RoomState, resources: Iterable[str], *codes: int, reason: str = ""
    ) -> None:
        """Unavailable self-presence: the user is out (left, kicked, cut off)."""
        self.occupant(
            state,
            state.own_occupant(),
            resources=resources,
            own=True,
            codes=codes,
            leaving=True,
            reason=reason,
        )

    def join_presences(self, state: RoomState, join: PendingJoin) -> None:
        """Every other occupant, then self-presence with 110, 100 and (if renamed) 210."""
        for occupant in sorted(state.occupants.values(), key=lambda o: o.nick):
            self.occupant(state, occupant, resources=[join.resource])
        codes = [Status.NON_ANONYMOUS]
        if join.nick != state.nick:
            codes.append(Status.NICK_ASSIGNED)
        self.occupant(state, state.own_occupant(), resources=[join.resource], own=True, codes=codes)

    # ------------------------------------------------------------------ messages

    def history_and_subject(
        self, state: RoomState, resource: str, history: list[ArchivedMessage], max_chars: int | None
    ) -> None:
        """The archived messages (within *max_chars* of XML), then the subject, to *resource*."""
        repeated = self.held_ids(resource, state.room)
        stanzas = [
            self.archived(state.room, resource, m) for m in history if m.stanza_id not in repeated
        ]
        if max_chars is not None:
            stanzas = _newest_within(stanzas, max_chars)
        for stanza in stanzas:
            self._send(stanza)
        origin = state.subject_by and self.occupant_jid(state.room, state.subject_by)
        self._send(
            subject_message(
                origin=origin or self.room_jid(state.room), to=resource, subject=state.subject
            )
        )

    def archived(
        self, room: RoomAddress, resource: str, message: ArchivedMessage, *, delayed: bool = True
    ) -> Message:
        """*message* for *resource*; *delayed* adds the XEP-0203 timestamp."""
        return room_message(
            origin=self.occupant_jid(room, message.sender)
            if message.sender
            else self.room_jid(room),
            to=resource,
            body=f"/me {message.body}" if message.action else message.body,
            message_id=message.origin_id
            if message.own and message.origin_id
            else message.stanza_id,
            stanza_id=message.stanza_id,
            room_jid=self.room_jid(room),
            when=message.when if delayed else None,
            origin_id=message.origin_id,
        )

    def live(
        self,
        state: RoomState,
        message: ArchivedMessage,
        *,
        delayed: bool,
        decorate: Callable[[Message], None] | None = None,
    ) -> None:
        """A new room message to every joined resource; *decorate* adds relation elements."""
        for resource in sorted(state.resources):
            stanza = self.archived(state.room, resource, message, delayed=delayed)
            if decorate is not None:
                decorate(stanza)
            self.send(stanza)


def _newest_within(stanzas: list[Message], max_chars: int) -> list[Message]:
    """The newest stanzas whose XML fits in *max_chars* characters together."""
    kept: list[Message] = []
    total = 0
    for stanza in reversed(stanzas):
        total += len(str(stanza))
        if total > max_chars:
            break
        kept.append(stanza)
    return kept[::-1]


def now() -> datetime:
    return datetime.now(UTC)
