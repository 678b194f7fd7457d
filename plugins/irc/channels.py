"""Per-channel state of one IRC connection: members, why a join was refused, power changes.

Kept small on purpose (one bridge process holds thousands of connections): a member is
a nick and the prefix mode letters it holds, nothing else; no message history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bridge.addressing import ContactAddress
from bridge.errors import (
    AuthFailed,
    Forbidden,
    InviteOnly,
    LegacyError,
    NoSuchRoom,
    RoomFull,
)
from bridge.events import Affiliation, Occupant, Role
from plugins.irc.protocol.casemap import FoldedDict
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, cmd
from plugins.irc.protocol.modes import (
    ModeChange,
    Standing,
    format_modes,
    modes_for_affiliation,
    modes_for_role,
    standing,
)

# RFC 2812's MODES default: how many argument-taking modes one MODE line may carry.
_DEFAULT_MODES_PER_LINE = 3


class Phase(Enum):
    """How far our own join of a channel has got."""

    REQUESTED = "requested"  # JOIN sent (or to be resent after a reconnect), no echo yet
    NAMING = "naming"  # our JOIN echoed: topic and NAMES are arriving
    JOINED = "joined"  # RPL_ENDOFNAMES seen: the core knows the room


@dataclass(slots=True)
class Channel:
    """One channel we are in or joining; ``members`` maps each nick to its prefix modes."""

    casemapping: str
    key: str | None = None
    phase: Phase = Phase.REQUESTED
    members: FoldedDict[str] = field(init=False)
    topic: str = ""
    topic_by: str | None = None

    def __post_init__(self) -> None:
        self.members = FoldedDict(self.casemapping)

    def reset(self) -> None:
        """Back to a join to be made again (after a reconnect): members and topic are stale."""
        self.phase = Phase.REQUESTED
        self.members = FoldedDict(self.casemapping)
        self.topic, self.topic_by = "", None

    def standing_of(self, nick: str) -> Standing:
        return standing(self.members.get(nick, ""))

    def occupant(self, nick: str, server: str) -> Occupant:
        """*nick* as the core sees it, with its role and affiliation from its prefix modes."""
        spelled = self.members.spelling(nick) if nick in self.members else nick
        held = self.standing_of(nick)
        return Occupant(spelled, held.role, held.affiliation, ContactAddress(server, spelled))

    def set_mode(self, nick: str, mode: str, adding: bool, prefix_modes: str) -> None:
        """Give or take one prefix mode; letters stay in the server's order of power."""
        held = set(self.members[nick])
        held = (held | {mode}) if adding else (held - {mode})
        self.members[self.members.spelling(nick)] = "".join(m for m in prefix_modes if m in held)

    def rename(self, old: str, new: str) -> bool:
        """*old* is now *new*; False when *old* was not a member."""
        if old not in self.members:
            return False
        self.members[new] = self.members.pop(old)
        return True


_JOIN_ERRORS: dict[str, tuple[type[LegacyError], str]] = {
    "471": (RoomFull, "{channel} is full: try again later"),
    "473": (
        InviteOnly,
        "{channel} is invite-only: ask one of its operators to invite you, then join again",
    ),
    "474": (Forbidden, "you are banned from {channel}: ask one of its operators to lift the ban"),
    "475": (AuthFailed, "{channel} needs a key: join with a password"),
    "403": (NoSuchRoom, "{channel} does not exist on this server: check the channel name"),
    "476": (NoSuchRoom, "{channel} is not a valid channel name on this server"),
    "405": (Forbidden, "you are in too many channels to join {channel}: leave one first"),
    "437": (Forbidden, "{channel} is temporarily unavailable: try again in a few minutes"),
    "477": (
        Forbidden,
        "{channel} admits only registered nicks: identify with NickServ, then join again",
    ),
}
_WRONG_KEY = "the key for {channel} is wrong: join again with the right password"


def join_error(numeric: str, channel: str, server_text: str, *, had_key: bool) -> LegacyError:
    """The domain error for a numeric refusing our join of *channel*, with what to do."""
    kind, text = _JOIN_ERRORS.get(numeric, (Forbidden, "cannot join {channel}"))
    if numeric == "475" and had_key:
        text = _WRONG_KEY
    text = text.format(channel=channel)
    if server_text:
        text += f" (server said: {server_text})"
    return kind(text)


def power_lines(
    channel: str,
    nick: str,
    held: str,
    role: Role | None,
    affiliation: Affiliation | None,
    features: ServerFeatures,
) -> list[IrcMessage]:
    """MODE lines giving *nick* (holding prefix modes *held*) a role and/or affiliation.

    Outcast is a ban on ``nick!*@*``. The affiliation is applied first, so "member and
    moderator" gives +v then +o. Role none is a kick, which the caller sends instead.
    """
    if affiliation is Affiliation.OUTCAST:
        changes = [ModeChange(True, "b", f"{nick}!*@*")]
    else:
        changes = []
        if affiliation is not None:
            changes += modes_for_affiliation(affiliation, nick, held, features)
            held = _after(held, changes)
        if role is not None:
            changes += modes_for_role(role, nick, held, features)
    per_line = _modes_per_line(features) or max(len(changes), 1)
    return [
        cmd("MODE", channel, *format_modes(changes[start : start + per_line]))
        for start in range(0, len(changes), per_line)
    ]


def _after(held: str, changes: list[ModeChange]) -> str:
    modes = set(held)
    for change in changes:
        modes = (modes | {change.mode}) if change.adding else (modes - {change.mode})
    return "".join(modes)


def _modes_per_line(features: ServerFeatures) -> int | None:
    """ISUPPORT MODES; None when announced without a value, which means no limit."""
    value = features.tokens.get("MODES")
    if value is None:
        return _DEFAULT_MODES_PER_LINE
    if not value:
        return None
    return (
        int(value)
        if value.isascii() and value.isdigit() and int(value) > 0
        else _DEFAULT_MODES_PER_LINE
    )
