"""Matrix identifiers ⇄ JID local parts.

Matrix ids are case-sensitive (``!Abc`` and ``!abc`` are two rooms) while XMPP servers
fold JID local parts to lower case, so every local part carries upper case reversibly:
``^a`` is ``A`` and ``^^`` is ``^``; ``^`` before any other character keeps it literal
(``^%`` is a ``%`` inside a name, ``^#`` a contact whose name starts with ``#``). XEP-0106
escaping comes on top. The server follows the last unescaped ``%``, as Matrix's ``:``
does in the id; room version 12 ids carry no server and have no ``%`` at all:

====================  =======================
``!Abc:matrix.org``   ``!^abc%matrix.org``
``!Abc`` (v12)        ``!^abc``
``#Room:matrix.org``  ``#^room%matrix.org``
``@alice:matrix.org`` ``alice%matrix.org``
``matrix.org``        ``matrix.org``
====================  =======================
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.addressing import (
    AddressError,
    ContactAddress,
    LegacyAddress,
    RoomAddress,
    ServerAddress,
    escape_node,
    unescape_node,
)

ROOM_ID_SIGIL = "!"
ALIAS_SIGIL = "#"
USER_SIGIL = "@"
_CARET = "^"
_SERVER_MARK = "%"
# A name starting with one of these would read as another kind of address.
_SIGILS = ROOM_ID_SIGIL + ALIAS_SIGIL + USER_SIGIL


def _folds(char: str) -> bool:
    """Whether *char* is upper case that ``^`` + its lower case can carry both ways."""
    lower = char.lower()
    return lower != char and len(lower) == 1 and lower.upper() == char


def encode_case(text: str, *, guard_sigil: bool = False) -> str:
    """*text* with upper case, ``^`` and ``%`` written so case folding loses nothing.

    With *guard_sigil*, a leading ``!``, ``#`` or ``@`` is kept literal (``^#``).
    """
    out: list[str] = []
    for index, char in enumerate(text):
        if char in (_CARET, _SERVER_MARK) or (guard_sigil and index == 0 and char in _SIGILS):
            out.append(_CARET + char)
        elif _folds(char):
            out.append(_CARET + char.lower())
        else:
            out.append(char)
    return "".join(out)


def decode_case(text: str) -> str:
    """Reverse :func:`encode_case`; raise AddressError on a ``^`` that ends the text."""
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != _CARET:
            out.append(char)
            continue
        following = next(chars, None)
        if following is None:
            raise AddressError(f"'{text}' ends with a lone '^' (write '^^' for a '^')")
        upper = following.upper()
        out.append(upper if _folds(upper) and upper.lower() == following else following)
    return "".join(out)


def _split_server(text: str) -> tuple[str, str | None]:
    """*text* cut at its last ``%`` that no ``^`` escapes: (name, server or None)."""
    cut: int | None = None
    index = 0
    while index < len(text):
        if text[index] == _CARET:
            index += 2
            continue
        if text[index] == _SERVER_MARK:
            cut = index
        index += 1
    if cut is None:
        return text, None
    return text[:cut], text[cut + 1 :]


@dataclass(frozen=True, slots=True)
class MatrixGrammar:
    """The core's address grammar for Matrix (same interface as AddressGrammar).

    Matrix has no fixed-server mode: rooms federate, so every address names its server.
    """

    room_prefixes: str = ROOM_ID_SIGIL + ALIAS_SIGIL
    fixed_server: str | None = None

    def parse(self, node: str) -> LegacyAddress:
        """Read an escaped JID local part; raise AddressError with a usable text."""
        text = unescape_node(node)
        if not text:
            raise AddressError("the address has no local part: use name%server@gateway")
        raw_name, raw_server = _split_server(text)
        if raw_server is None:
            return self._parse_serverless(raw_name)
        server = decode_case(raw_server)
        if not server:
            raise AddressError(f"'{text}' names no server after '%'")
        if not raw_name:
            return ServerAddress(server)
        if raw_name[0] in self.room_prefixes:
            return RoomAddress(server, _room_name(raw_name[0], decode_case(raw_name[1:])))
        # A Matrix user id typed as it is (`@alice%server`) means the same contact.
        local = decode_case(raw_name.removeprefix(USER_SIGIL))
        if not local:
            raise AddressError(f"'{text}' names no user before '%'")
        return ContactAddress(server, local)

    def _parse_serverless(self, raw: str) -> LegacyAddress:
        if raw[0] == ROOM_ID_SIGIL:
            return RoomAddress("", _room_name(ROOM_ID_SIGIL, decode_case(raw[1:])))
        if raw[0] in _SIGILS:
            raise AddressError(
                f"'{raw}' needs its server: write it as {raw}%server (Matrix's ':' is '%')"
            )
        return ServerAddress(decode_case(raw))

    def label(self, address: LegacyAddress) -> str:
        """The Matrix id people know: `#room:server`, `!id:server`, `@alice:server`."""
        if isinstance(address, RoomAddress):
            return room_id_of(address)
        if isinstance(address, ContactAddress):
            return user_id_of(address)
        return address.server

    def format(self, address: LegacyAddress) -> str:
        """The escaped JID local part for *address*; AddressError if it cannot exist."""
        if isinstance(address, ServerAddress):
            if not address.server:
                raise AddressError("a Matrix server address needs a server name")
            return escape_node(encode_case(address.server, guard_sigil=True))
        if isinstance(address, RoomAddress):
            sigil, local = address.name[:1], address.name[1:]
            if sigil not in self.room_prefixes or not local:
                raise AddressError(f"'{address.name}' is no Matrix room id nor alias")
            if not address.server:
                if sigil != ROOM_ID_SIGIL:
                    raise AddressError(f"the alias '{address.name}' needs its server")
                return escape_node(sigil + encode_case(local))
            name = sigil + encode_case(local)
        else:
            if not address.name or not address.server:
                raise AddressError(f"the Matrix user '{address.name}' needs a name and a server")
            name = encode_case(address.name, guard_sigil=True)
        return escape_node(f"{name}{_SERVER_MARK}{encode_case(address.server)}")


def _room_name(sigil: str, local: str) -> str:
    if not local:
        raise AddressError(f"'{sigil}' is only a prefix: add the room's id or alias")
    return sigil + local


def room_id_of(address: RoomAddress) -> str:
    """The Matrix room id or alias *address* stands for (``!Abc:server``, ``!Abc``, ``#r:s``)."""
    return f"{address.name}:{address.server}" if address.server else address.name


def address_of_room(room_id_or_alias: str) -> RoomAddress:
    """The address of a Matrix room id or alias; AddressError when it is neither."""
    sigil = room_id_or_alias[:1]
    local, colon, server = room_id_or_alias[1:].partition(":")
    if sigil not in (ROOM_ID_SIGIL, ALIAS_SIGIL) or not local:
        raise AddressError(f"'{room_id_or_alias}' is no Matrix room id (!…) nor alias (#…:server)")
    if colon and not server:
        raise AddressError(f"'{room_id_or_alias}' names no server after ':'")
    if not colon and sigil == ALIAS_SIGIL:
        raise AddressError(f"the alias '{room_id_or_alias}' needs its server (#room:server)")
    return RoomAddress(server, sigil + local)


def user_id_of(contact: ContactAddress) -> str:
    """The Matrix user id of *contact* (``@alice:matrix.org``)."""
    return f"{USER_SIGIL}{contact.name}:{contact.server}"


def contact_of(user_id: str) -> ContactAddress:
    """The contact for a Matrix user id; AddressError when *user_id* is not one."""
    local, colon, server = user_id.removeprefix(USER_SIGIL).partition(":")
    if not user_id.startswith(USER_SIGIL) or not local or not colon or not server:
        raise AddressError(f"'{user_id}' is no Matrix user id (@name:server)")
    return ContactAddress(server, local)
