"""Channel modes: reading MODE changes and NAMES prefixes, and XEP-0045 roles ↔ prefix modes.

Roles and affiliations follow Biboumi, so users moving from it see the same thing:
q → owner, a and o → admin, h → member, all three moderators; v → member participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bridge.events import Affiliation, Role
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import nick_of

# The prefix modes the bridge understands, most powerful first.
_POWER = "qaohv"
_MODERATOR_MODES = frozenset("qaoh")
_STANDINGS = {
    "q": (Affiliation.OWNER, Role.MODERATOR),
    "a": (Affiliation.ADMIN, Role.MODERATOR),
    "o": (Affiliation.ADMIN, Role.MODERATOR),
    "h": (Affiliation.MEMBER, Role.MODERATOR),
    "v": (Affiliation.MEMBER, Role.PARTICIPANT),
}


@dataclass(frozen=True, slots=True)
class ModeChange:
    """One mode set or unset, with its argument when the mode takes one."""

    adding: bool
    mode: str
    arg: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedModes:
    """The changes of one MODE line; ``missing_args`` tells that some were dropped."""

    changes: tuple[ModeChange, ...]
    missing_args: bool = False


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a channel member stands, in XEP-0045 terms."""

    affiliation: Affiliation
    role: Role


@dataclass(frozen=True, slots=True)
class NamesEntry:
    """One member from RPL_NAMREPLY; ``source`` is ``nick!user@host`` with userhost-in-names."""

    nick: str
    modes: frozenset[str]
    source: str | None = None


def parse_modes(
    modes: str, args: Sequence[str], features: ServerFeatures, *, channel: bool = True
) -> ParsedModes:
    """Read ``+o-v+k`` with its arguments; user modes (``channel=False``) take none.

    A change whose argument is missing is dropped rather than given someone else's.
    """
    list_modes, always_arg, set_arg, _ = features.chanmodes
    remaining = iter(args)
    changes: list[ModeChange] = []
    missing = False
    adding = True
    for mode in modes:
        if mode in "+-":
            adding = mode == "+"
            continue
        takes_arg = channel and (
            mode in features.prefix_modes
            or mode in list_modes
            or mode in always_arg
            or (adding and mode in set_arg)
        )
        arg = next(remaining, None) if takes_arg else None
        if takes_arg and arg is None:
            missing = True
            continue
        changes.append(ModeChange(adding, mode, arg))
    return ParsedModes(tuple(changes), missing)


def format_modes(changes: Iterable[ModeChange]) -> tuple[str, ...]:
    """MODE parameters for ``changes``: the mode string, then the arguments in order."""
    letters: list[str] = []
    args: list[str] = []
    sign = ""
    for change in changes:
        if ("+" if change.adding else "-") != sign:
            sign = "+" if change.adding else "-"
            letters.append(sign)
        letters.append(change.mode)
        if change.arg is not None:
            args.append(change.arg)
    return ("".join(letters), *args) if letters else ()


def standing(modes: Iterable[str]) -> Standing:
    """The XEP-0045 standing of a member holding these prefix modes; the highest wins."""
    held = set(modes)
    for mode in _POWER:
        if mode in held:
            affiliation, role = _STANDINGS[mode]
            return Standing(affiliation, role)
    return Standing(Affiliation.NONE, Role.PARTICIPANT)


def modes_for_role(
    role: Role, nick: str, held: Iterable[str], features: ServerFeatures
) -> list[ModeChange]:
    """The MODE changes that give ``nick`` the requested role (``held``: its prefix modes now).

    Role ``none`` is a kick, which no mode expresses: the caller sends KICK instead.
    """
    current = _held(held, features)
    moderator_modes = [mode for mode in current if mode in _MODERATOR_MODES]
    if role is Role.MODERATOR:
        return [] if moderator_modes else [ModeChange(True, "o", nick)]
    if role is Role.PARTICIPANT:
        if moderator_modes:
            return [ModeChange(False, mode, nick) for mode in moderator_modes]
        return [] if "v" in current else [ModeChange(True, "v", nick)]
    if role is Role.VISITOR:
        return [ModeChange(False, mode, nick) for mode in current or ["v"]]
    raise ValueError(f"role {role} is not a channel mode: kick {nick} instead")


def modes_for_affiliation(
    affiliation: Affiliation, nick: str, held: Iterable[str], features: ServerFeatures
) -> list[ModeChange]:
    """The MODE changes that give ``nick`` the requested affiliation.

    Modes above the one granted are taken away, so demoting an owner to admin works.
    Affiliation ``outcast`` is a ban, which the caller sets with a +b mask instead.
    """
    if affiliation is Affiliation.OUTCAST:
        raise ValueError(f"affiliation outcast is a ban, not a prefix mode: ban {nick} instead")
    granted = {
        Affiliation.OWNER: "q" if "q" in features.prefix_modes else "o",
        Affiliation.ADMIN: "o",
        Affiliation.MEMBER: "v",
        Affiliation.NONE: None,
    }[affiliation]
    rank = _POWER.index(granted) if granted else len(_POWER)
    current = _held(held, features)
    changes = [ModeChange(False, mode, nick) for mode in current if _POWER.index(mode) < rank]
    if granted is not None and granted not in current:
        changes.append(ModeChange(True, granted, nick))
    return changes


def parse_names(text: str, features: ServerFeatures) -> list[NamesEntry]:
    """The members listed in the last parameter of RPL_NAMREPLY (353)."""
    entries = (parse_names_entry(word, features) for word in text.split(" "))
    return [entry for entry in entries if entry is not None]


def parse_names_entry(word: str, features: ServerFeatures) -> NamesEntry | None:
    """``@+alice`` (multi-prefix) or ``@alice!u@h`` (userhost-in-names); None if no nick."""
    modes: set[str] = set()
    start = 0
    while start < len(word) and (mode := features.mode_for_symbol(word[start])) is not None:
        modes.add(mode)
        start += 1
    source = word[start:]
    nick = nick_of(source)
    if not nick:
        return None
    return NamesEntry(nick, frozenset(modes), source if source != nick else None)


def _held(modes: Iterable[str], features: ServerFeatures) -> list[str]:
    """The bridge-known prefix modes among ``modes``, most powerful first."""
    present = set(modes)
    return [mode for mode in _POWER if mode in present and mode in features.prefix_modes]
