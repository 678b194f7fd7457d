"""What the gateway knows about each user's rooms, and how joins and leaves move it.

Pure: no stanza, no I/O. Every XMPP resource of a user shares one legacy session and
so one nick per room; this module decides when a resource's presence needs the legacy
network (the first join, the last leave) and when the answer comes from memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from bridge.addressing import RoomAddress
from bridge.events import Affiliation, Occupant, Role, RoomJoined

# Own message ids remembered until the network echoes them; an echo later than this many
# messages is shown twice rather than growing memory without bound.
_ECHO_WINDOW = 256


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """The <history/> limits a client sent with its join (XEP-0045 §7.2.13)."""

    max_stanzas: int | None = None
    max_chars: int | None = None
    seconds: int | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingJoin:
    """One resource waiting for the room: the nick it asked for and how much history."""

    resource: str
    nick: str
    history: HistoryRequest = HistoryRequest()
    presence_id: str | None = None


class JoinStep(Enum):
    """What a join presence needs."""

    START = "start"  # nobody of this user is in or entering the room: ask the network
    WAIT = "wait"  # a join is already under way: answer when it completes
    ANSWER = "answer"  # the user is in the room already: answer from memory
    CHANGE_NICK = "change_nick"  # a joined resource asked for another nick


class LeaveStep(Enum):
    """What an unavailable presence needs."""

    LAST = "last"  # the last resource left: leave on the network too
    ONE_OF_SEVERAL = "one_of_several"  # others stay: only this resource goes
    NOT_IN_ROOM = "not_in_room"


@dataclass(slots=True)
class RoomState:
    """One user's view of one room."""

    room: RoomAddress
    nick: str | None = None
    joined: bool = False
    occupants: dict[str, Occupant] = field(default_factory=dict)
    subject: str = ""
    subject_by: str | None = None
    own_role: Role = Role.PARTICIPANT
    own_affiliation: Affiliation = Affiliation.NONE
    resources: set[str] = field(default_factory=set)
    pending: dict[str, PendingJoin] = field(default_factory=dict)
    awaiting_echo: OrderedDict[str, None] = field(default_factory=OrderedDict)
    # Pending joins are only those kept over a network loss: a client's own join still asks.
    pending_from_loss: bool = False

    def request_join(self, join: PendingJoin) -> JoinStep:
        """Record *join* and say whether it needs the network."""
        if join.resource in self.resources and self.nick != join.nick:
            return JoinStep.CHANGE_NICK
        if self.joined:
            self.resources.add(join.resource)
            return JoinStep.ANSWER
        first = not self.pending or self.pending_from_loss
        self.pending_from_loss = False
        self.pending[join.resource] = join
        return JoinStep.START if first else JoinStep.WAIT

    def complete_join(self, event: RoomJoined) -> list[PendingJoin]:
        """The network let the user in: every pending resource is now an occupant."""
        self.joined = True
        self.nick = event.nick
        self.occupants = {o.nick: o for o in event.occupants if o.nick != event.nick}
        self.subject, self.subject_by = event.subject, event.subject_by
        self.own_role, self.own_affiliation = event.own_role, event.own_affiliation
        answered = list(self.pending.values())
        self.resources.update(self.pending)
        self.pending.clear()
        self.pending_from_loss = False
        return answered

    def fail_join(self) -> list[PendingJoin]:
        """The network refused the join: every pending resource gets the error."""
        failed = list(self.pending.values())
        self.pending.clear()
        self.pending_from_loss = False
        return failed

    def leave(self, resource: str) -> LeaveStep:
        """Forget *resource* in this room and say whether the user is gone from it."""
        known = resource in self.resources or resource in self.pending
        self.resources.discard(resource)
        self.pending.pop(resource, None)
        if not known:
            return LeaveStep.NOT_IN_ROOM
        return LeaveStep.ONE_OF_SEVERAL if self.resources or self.pending else LeaveStep.LAST

    def has_occupant_resource(self, resource: str) -> bool:
        return self.joined and resource in self.resources

    def is_own(self, nick: str) -> bool:
        return self.joined and nick == self.nick

    def put_occupant(self, occupant: Occupant) -> None:
        """Someone arrived or their role changed; the user's own entry updates own power."""
        if self.is_own(occupant.nick):
            self.own_role, self.own_affiliation = occupant.role, occupant.affiliation
        else:
            self.occupants[occupant.nick] = occupant

    def remove_occupant(self, nick: str) -> Occupant:
        """Someone left; returns who they were (a bare participant when never seen)."""
        return self.occupants.pop(nick, None) or Occupant(nick)

    def rename(self, old: str, new: str) -> Occupant:
        """*old* is now *new*; returns the occupant under the new nick."""
        if self.is_own(old):
            self.nick = new
            return self.own_occupant()
        renamed = self.occupants.pop(old, None) or Occupant(old)
        occupant = Occupant(new, renamed.role, renamed.affiliation, renamed.contact)
        self.occupants[new] = occupant
        return occupant

    def own_occupant(self) -> Occupant:
        return Occupant(self.nick or "", self.own_role, self.own_affiliation)

    def expect_echo(self, xmpp_id: str) -> None:
        """Remember an id the user sent so the network's echo of it is not shown twice."""
        self.awaiting_echo[xmpp_id] = None
        while len(self.awaiting_echo) > _ECHO_WINDOW:
            self.awaiting_echo.popitem(last=False)

    def take_echo(self, xmpp_id: str | None) -> bool:
        """True (once) when *xmpp_id* is the echo of something already reflected."""
        if xmpp_id is None or xmpp_id not in self.awaiting_echo:
            return False
        del self.awaiting_echo[xmpp_id]
        return True

    def lose_link(self, *, rejoining: bool) -> set[str]:
        """The network link broke: nobody is in the room, but the nick is kept to rejoin.

        When the network rejoins by itself, the resources that were in wait for that
        rejoin, so they are let back in without asking (clients do not all rejoin on 333).
        """
        gone = self.resources | set(self.pending)
        self.joined = False
        self.occupants.clear()
        self.pending.clear()
        self.pending_from_loss = False
        if rejoining and self.nick:
            self.pending = {r: PendingJoin(r, self.nick) for r in sorted(self.resources)}
            self.pending_from_loss = bool(self.pending)
        self.resources.clear()
        return gone


class RoomRegistry:
    """Every user's rooms, keyed by bare JID and room address."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[RoomAddress, RoomState]] = {}

    def get(self, user: str, room: RoomAddress) -> RoomState | None:
        return self._rooms.get(user, {}).get(room)

    def ensure(self, user: str, room: RoomAddress) -> RoomState:
        return self._rooms.setdefault(user, {}).setdefault(room, RoomState(room))

    def drop(self, user: str, room: RoomAddress) -> None:
        rooms = self._rooms.get(user, {})
        rooms.pop(room, None)
        if not rooms:
            self._rooms.pop(user, None)

    def drop_user(self, user: str) -> list[RoomState]:
        return list(self._rooms.pop(user, {}).values())

    def rooms_of(self, user: str) -> Iterator[RoomState]:
        yield from list(self._rooms.get(user, {}).values())

    def forget_resource(self, user: str, resource: str) -> None:
        """A resource went offline: it is in no room any more (the user may still be)."""
        for state in self.rooms_of(user):
            state.resources.discard(resource)
            state.pending.pop(resource, None)
