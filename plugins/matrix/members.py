"""Who is in a Matrix room, under which MUC nick, with which power.

A MUC nick must be unique in its room while Matrix display names need not be, so a
display name two members share becomes ``Alice (@alice:server)`` for each of them (a
member without one is known by their user id). Names that could pass for such a nick or
for a user id are always disambiguated, so no member can take another's nick. One
member's change can rename others: every change reports the nicks it moved.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.addressing import AddressError
from bridge.events import Affiliation, Occupant, Role
from plugins.matrix.addresses import contact_of

OWNER_LEVEL = 100
ADMIN_LEVEL = 50
MAX_NAME_CHARS = 100
_USER_ID_SUFFIX = re.compile(r" \(@[^()]*\)$")


@dataclass(frozen=True, slots=True)
class NickMove:
    """*user_id*'s nick went from *old* to *new* (None: not an occupant)."""

    user_id: str
    old: str | None
    new: str | None


def power_of(level: int) -> tuple[Role, Affiliation]:
    """The XEP-0045 role and affiliation a Matrix power level stands for."""
    if level >= OWNER_LEVEL:
        return Role.MODERATOR, Affiliation.OWNER
    if level >= ADMIN_LEVEL:
        return Role.MODERATOR, Affiliation.ADMIN
    if level > 0:
        return Role.PARTICIPANT, Affiliation.MEMBER
    return Role.PARTICIPANT, Affiliation.NONE


def clean_display_name(value: object) -> str | None:
    """A display name fit for a nick: no control characters, trimmed, bounded; or None."""
    if not isinstance(value, str):
        return None
    kept = "".join(" " if unicodedata.category(char) == "Cc" else char for char in value)
    name = " ".join(kept.split())[:MAX_NAME_CHARS]
    return name or None


def level_of(value: object) -> int | None:
    """A power level as the event carries it (an integer, not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class RoomMembers:
    """The joined members of one room, their display names and power levels."""

    def __init__(self) -> None:
        self._names: dict[str, str | None] = {}
        self._holders: dict[str, set[str]] = {}
        self._levels: dict[str, int] = {}
        self._default_level = 0

    def is_joined(self, user_id: str) -> bool:
        return user_id in self._names

    def nick_of(self, user_id: str) -> str:
        """The nick *user_id* goes by here; their user id when they are not a member."""
        name = self._names.get(user_id)
        if not name:
            return user_id
        shared = len(self._holders.get(name, ())) > 1
        if shared or name.startswith("@") or _USER_ID_SUFFIX.search(name):
            return f"{name} ({user_id})"
        return name

    def user_ids_by_nick(self) -> dict[str, str]:
        """Each joined member's user id under their nick, to find them in typed text."""
        return {self.nick_of(user_id): user_id for user_id in self._names}

    def level(self, user_id: str) -> int:
        return self._levels.get(user_id, self._default_level)

    def occupant(self, user_id: str) -> Occupant:
        role, affiliation = power_of(self.level(user_id))
        try:
            contact = contact_of(user_id)
        except AddressError:
            contact = None
        return Occupant(self.nick_of(user_id), role, affiliation, contact)

    def occupants(self) -> tuple[Occupant, ...]:
        return tuple(self.occupant(user_id) for user_id in self._names)

    def set_membership(
        self, user_id: str, display_name: str | None, *, joined: bool
    ) -> list[NickMove]:
        """Record *user_id* as joined (under *display_name*) or gone; the nicks that moved."""
        affected = {user_id}
        for name in (self._names.get(user_id), display_name):
            affected |= self._holders.get(name or "", set())
        before = {member: self.nick_of(member) for member in affected if self.is_joined(member)}
        self._forget(user_id)
        if joined:
            self._names[user_id] = display_name
            if display_name:
                self._holders.setdefault(display_name, set()).add(user_id)
        after = {member: self.nick_of(member) for member in affected if self.is_joined(member)}
        moves = [
            NickMove(member, before.get(member), after.get(member))
            for member in sorted(affected)
            if before.get(member) != after.get(member)
        ]
        return _in_safe_order(moves)

    def set_power_levels(self, content: Mapping[str, object]) -> list[str]:
        """Take a new ``m.room.power_levels`` content; the joined members whose power moved."""
        before = {member: power_of(self.level(member)) for member in self._names}
        users = content.get("users")
        self._levels = {}
        if isinstance(users, Mapping):
            for user_id, value in users.items():
                level = level_of(value)
                if isinstance(user_id, str) and level is not None:
                    self._levels[user_id] = level
        self._default_level = level_of(content.get("users_default")) or 0
        return [member for member in self._names if power_of(self.level(member)) != before[member]]

    def _forget(self, user_id: str) -> None:
        name = self._names.pop(user_id, None)
        holders = self._holders.get(name or "")
        if holders is not None:
            holders.discard(user_id)
            if not holders:
                del self._holders[name or ""]


def _in_safe_order(moves: list[NickMove]) -> list[NickMove]:
    """Departures, renames, then arrivals: no event names a nick someone else still holds.

    Renames never collide among themselves: a plain nick is held by the only member with
    that display name, and a disambiguated one or a user id by that user alone.
    """
    return sorted(moves, key=lambda move: (move.old is None, move.new is not None))
