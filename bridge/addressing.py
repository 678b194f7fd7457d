"""JID local parts ⇄ legacy addresses.

The core owns XEP-0106 escaping and the `%` convention shared by every network
(``#chan%irc.libera.chat``); a plugin only says which first characters make a room
name (IRC CHANTYPES, Matrix ``#``/``!``) and whether it runs in fixed-server mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# XEP-0106 §3.1: the characters a node cannot hold, and their escapes. `\` itself is
# escaped only where it would otherwise start a valid escape sequence.
_ESCAPES: dict[str, str] = {
    " ": "\\20",
    '"': "\\22",
    "&": "\\26",
    "'": "\\27",
    "/": "\\2f",
    ":": "\\3a",
    "<": "\\3c",
    ">": "\\3e",
    "@": "\\40",
}
_UNESCAPES: dict[str, str] = {v[1:]: k for k, v in _ESCAPES.items()} | {"5c": "\\"}
_SPECIAL = frozenset(_ESCAPES) | {"\\"}
"""Characters that make a text need escaping (every room address on every message is
formatted, and nearly none holds one of these)."""


class AddressError(ValueError):
    """A JID local part that names nothing under the network's grammar."""


def escape_node(text: str) -> str:
    """XEP-0106 escape *text* so it can stand as a JID local part."""
    if _SPECIAL.isdisjoint(text):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char == "\\" and text[i + 1 : i + 3].lower() in _UNESCAPES:
            out.append("\\5c")
        else:
            out.append(char)
    return "".join(out)


def unescape_node(node: str) -> str:
    """Reverse :func:`escape_node`; unknown sequences stay literal, as XEP-0106 says."""
    if "\\" not in node:
        return node
    out: list[str] = []
    i = 0
    while i < len(node):
        code = node[i + 1 : i + 3].lower()
        if node[i] == "\\" and code in _UNESCAPES:
            out.append(_UNESCAPES[code])
            i += 3
        else:
            out.append(node[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class RoomAddress:
    """A group conversation: an IRC channel, a Matrix room."""

    server: str
    name: str


@dataclass(frozen=True, slots=True)
class ContactAddress:
    """A person on the legacy network: an IRC nick, a Matrix user."""

    server: str
    name: str


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """A legacy server itself (``irc.libera.chat@gw``)."""

    server: str


LegacyAddress = RoomAddress | ContactAddress | ServerAddress


class Grammar(Protocol):
    """How one network spells its addresses in JID local parts (what the core asks of it)."""

    @property
    def fixed_server(self) -> str | None: ...

    def parse(self, node: str) -> LegacyAddress:
        """Read an (escaped) JID local part; raise AddressError with a usable text."""
        ...

    def format(self, address: LegacyAddress) -> str:
        """The escaped JID local part for *address*."""
        ...

    def label(self, address: LegacyAddress) -> str:
        """How people write *address* on the network, for names shown to users."""
        ...


@dataclass(frozen=True, slots=True)
class AddressGrammar:
    """How one network spells its addresses in JID local parts.

    ``room_prefixes`` are the first characters that make a name a room. With
    ``fixed_server`` set, local parts carry no ``%server`` and every address is on it.
    """

    room_prefixes: str = "#&"
    fixed_server: str | None = None

    def parse(self, node: str) -> LegacyAddress:
        """Read an (escaped) JID local part; raise AddressError with a usable text."""
        text = unescape_node(node)
        if not text:
            raise AddressError("the address has no local part: use name%server@gateway")
        if self.fixed_server is not None:
            name, server = text, self.fixed_server
        elif "%" in text:
            name, _, server = text.partition("%")
            if not server:
                raise AddressError(f"'{text}' names no server after '%'")
            if not name:
                return ServerAddress(server.lower())
        else:
            return ServerAddress(text.lower())
        if name[0] in self.room_prefixes:
            if len(name) == 1:
                raise AddressError(f"'{name}' is only a prefix: add the room's name")
            return RoomAddress(server.lower(), name)
        return ContactAddress(server.lower(), name)

    def label(self, address: LegacyAddress) -> str:
        return unescape_node(self.format(address))

    def format(self, address: LegacyAddress) -> str:
        """The escaped JID local part for *address*."""
        if isinstance(address, ServerAddress):
            return escape_node(address.server)
        if self.fixed_server is not None:
            return escape_node(address.name)
        return escape_node(f"{address.name}%{address.server}")
