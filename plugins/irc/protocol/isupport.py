"""What a server announced about itself in RPL_ISUPPORT (005), as one value.

Every field is derived from the raw token map, so a later ``-TOKEN`` simply brings the
default back. Hostile or garbled values are ignored in favour of the default: a server
cannot make the bridge fail by announcing ``NICKLEN=lots``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from plugins.irc.protocol.message import DEFAULT_LINELEN

CASEMAPPINGS = ("rfc1459", "strict-rfc1459", "ascii")
# rfc7613 folds more than ASCII, but only ASCII folding is safe to do without its tables.
_CASEMAPPING_ALIASES = {"rfc7613": "ascii"}
_ESCAPED_BYTE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_PREFIX = re.compile(r"\((?P<modes>[^)]*)\)(?P<symbols>.*)")


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """Server features, RFC 1459 defaults until the server says otherwise."""

    tokens: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    casemapping: str = "rfc1459"
    chantypes: str = "#&"
    prefix_modes: str = "ov"
    prefix_symbols: str = "@+"
    # CHANMODES groups: A list modes, B always take an argument, C only when set, D never.
    chanmodes: tuple[str, str, str, str] = ("b", "k", "l", "imnpst")
    nicklen: int = 9
    channellen: int = 200
    topiclen: int | None = None
    network: str | None = None
    # None: no MONITOR; 0: MONITOR without a stated limit.
    monitor: int | None = None
    linelen: int = DEFAULT_LINELEN
    # Command → most targets per message; None means no limit. See :meth:`max_targets`.
    targmax: Mapping[str, int | None] = field(default_factory=lambda: MappingProxyType({}))

    def with_tokens(self, tokens: Iterable[str]) -> ServerFeatures:
        """Fold in the tokens of one 005 line (the params between the nick and the text)."""
        merged = dict(self.tokens)
        for token in tokens:
            name, _, value = token.partition("=")
            if name.startswith("-"):
                merged.pop(name[1:].upper(), None)
            elif name:
                merged[name.upper()] = _ESCAPED_BYTE.sub(_unescape_byte, value)
        return _shared(merged)

    def is_channel(self, name: str) -> bool:
        """Whether ``name`` is a channel (rather than a nick) on this server."""
        return bool(name) and name[0] in self.chantypes

    def mode_for_symbol(self, symbol: str) -> str | None:
        """The prefix mode behind a NAMES/WHO symbol, e.g. ``@`` → ``o``."""
        index = self.prefix_symbols.find(symbol) if len(symbol) == 1 else -1
        return self.prefix_modes[index] if index >= 0 else None

    def max_targets(self, command: str) -> int | None:
        """How many targets one ``command`` may carry; None means no limit.

        Without TARGMAX, or for a command it does not list, one target is the safe guess.
        """
        return self.targmax.get(command.upper(), 1)


_SHARED: dict[frozenset[tuple[str, str]], ServerFeatures] = {}
_SHARED_MAX = 256


def _shared(tokens: dict[str, str]) -> ServerFeatures:
    """Every connection to a server gets the same tokens: one value serves them all (it
    is immutable), instead of thousands of copies when thousands of users are connected."""
    key = frozenset(tokens.items())
    features = _SHARED.get(key)
    if features is None:
        if len(_SHARED) >= _SHARED_MAX:
            del _SHARED[next(iter(_SHARED))]
        features = _SHARED[key] = _from_tokens(tokens)
    return features


def _from_tokens(tokens: dict[str, str]) -> ServerFeatures:
    defaults = ServerFeatures()
    casemapping = tokens.get("CASEMAPPING", "").lower()
    casemapping = _CASEMAPPING_ALIASES.get(casemapping, casemapping)
    prefix_modes, prefix_symbols = _parse_prefix(tokens, defaults)
    return ServerFeatures(
        tokens=MappingProxyType(tokens),
        casemapping=casemapping if casemapping in CASEMAPPINGS else defaults.casemapping,
        chantypes=tokens.get("CHANTYPES", defaults.chantypes),
        prefix_modes=prefix_modes,
        prefix_symbols=prefix_symbols,
        chanmodes=_parse_chanmodes(tokens.get("CHANMODES"), defaults.chanmodes),
        nicklen=_positive_int(tokens.get("NICKLEN")) or defaults.nicklen,
        channellen=_positive_int(tokens.get("CHANNELLEN")) or defaults.channellen,
        topiclen=_positive_int(tokens.get("TOPICLEN")),
        network=tokens.get("NETWORK") or None,
        monitor=_parse_monitor(tokens.get("MONITOR")),
        linelen=max(_positive_int(tokens.get("LINELEN")) or 0, DEFAULT_LINELEN),
        targmax=MappingProxyType(_parse_targmax(tokens.get("TARGMAX", ""))),
    )


def _unescape_byte(match: re.Match[str]) -> str:
    """``\\x20`` → space; an escaped control character is dropped (it would reach XML)."""
    char = chr(int(match[1], 16))
    return char if char >= " " else ""


def _positive_int(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or int(value) <= 0:
        return None
    return int(value)


def _parse_prefix(tokens: Mapping[str, str], defaults: ServerFeatures) -> tuple[str, str]:
    if "PREFIX" not in tokens:
        return defaults.prefix_modes, defaults.prefix_symbols
    value = tokens["PREFIX"]
    if not value:
        return "", ""  # announced without a value: no prefixes at all
    match = _PREFIX.fullmatch(value)
    if match is None or len(match["modes"]) != len(match["symbols"]):
        return defaults.prefix_modes, defaults.prefix_symbols
    return match["modes"], match["symbols"]


def _parse_chanmodes(
    value: str | None, default: tuple[str, str, str, str]
) -> tuple[str, str, str, str]:
    if value is None:
        return default
    groups = [*value.split(","), "", "", ""]
    # Groups beyond the fourth are future extensions and must be ignored.
    return groups[0], groups[1], groups[2], groups[3]


def _parse_monitor(value: str | None) -> int | None:
    if value is None:
        return None
    return _positive_int(value) or 0


def _parse_targmax(value: str) -> dict[str, int | None]:
    limits: dict[str, int | None] = {}
    for item in value.split(","):
        command, colon, limit = item.partition(":")
        if not (command and colon):
            continue
        if not limit:
            limits[command.upper()] = None
        elif (number := _positive_int(limit)) is not None:
            limits[command.upper()] = number
    return limits
