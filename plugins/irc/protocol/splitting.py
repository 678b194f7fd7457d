"""Cutting XMPP messages into PRIVMSGs that the server relays whole.

A server truncates a line that exceeds its length once it has added the sender's
``nick!user@host``, so the budget is computed as the *receivers* see the line, not as it
is sent. Pieces are cut on whitespace when one is near the end, else between characters
(and, as far as cheaply known, between grapheme clusters).
"""

from __future__ import annotations

import unicodedata

from plugins.irc.protocol.isupport import ServerFeatures

# A host name as long as DNS allows, for when the server has not told us ours.
UNKNOWN_HOST_LENGTH = 63
# "~" (no identd answer) and a USERLEN of 10, for when the user name is not known yet.
UNKNOWN_USER_LENGTH = 11
ACTION_OVERHEAD = len("\x01ACTION \x01")
# A whitespace this close to the end of a full chunk is a good place to cut.
_WHITESPACE_WINDOW = 0.3
_MIN_BODY_BYTES = 4  # the longest UTF-8 character


def prefix_length(nick: str, user: str | None = None, host: str | None = None) -> int:
    """Bytes of ``nick!user@host`` as the server relays it, guessing what is unknown."""
    user_length = len(user.encode()) if user is not None else UNKNOWN_USER_LENGTH
    host_length = len(host.encode()) if host is not None else UNKNOWN_HOST_LENGTH
    return len(nick.encode()) + 1 + user_length + 1 + host_length


def max_body_bytes(
    features: ServerFeatures,
    own_prefix_len: int,
    command: str,
    target: str,
    *,
    ctcp_action: bool = False,
) -> int:
    """How many bytes of text fit in one ``command`` to ``target`` (``/me`` costs more)."""
    envelope = f": {command} {target} :\r\n".encode()
    overhead = len(envelope) + own_prefix_len + (ACTION_OVERHEAD if ctcp_action else 0)
    return features.linelen - overhead


def split_message(text: str, max_bytes: int) -> list[str]:
    """One piece per non-blank line, long lines cut to ``max_bytes`` of UTF-8 each.

    Rejoining the pieces of a line with the single whitespace character that was cut
    gives the line back: nothing is lost but carriage returns and blank lines.
    """
    if max_bytes < _MIN_BODY_BYTES:
        raise ValueError(
            f"a message body of {max_bytes} bytes cannot hold every character;"
            f" at least {_MIN_BODY_BYTES} are needed (is the target name absurdly long?)"
        )
    pieces: list[str] = []
    for line in text.replace("\r", "").split("\n"):
        if line.strip():
            pieces.extend(_split_line(line, max_bytes))
    return pieces


def _split_line(line: str, max_bytes: int) -> list[str]:
    # Offsets advance through the line so a huge paste costs linear time, not quadratic.
    encoded = line.encode()
    pieces: list[str] = []
    char_pos = byte_pos = 0
    while len(encoded) - byte_pos > max_bytes:
        fitting = len(encoded[byte_pos : byte_pos + max_bytes].decode("utf-8", errors="ignore"))
        # The characters that fit, and the one after them (there is one: the rest is too long).
        segment = line[char_pos : char_pos + fitting + 1]
        space = _last_whitespace(segment, fitting)
        cut, skipped = (space, 1) if space is not None else (_cluster_boundary(segment, fitting), 0)
        pieces.append(segment[:cut])
        char_pos += cut + skipped
        byte_pos += len(segment[: cut + skipped].encode())
    if rest := line[char_pos:]:  # empty when the line ended with the whitespace cut
        pieces.append(rest)
    return pieces


def _last_whitespace(segment: str, fitting: int) -> int | None:
    """A whitespace near the end of what fits, or right after it, if any."""
    start = max(1, int(fitting * (1 - _WHITESPACE_WINDOW)))
    for index in range(fitting, start - 1, -1):
        if segment[index].isspace():
            return index
    return None


def _cluster_boundary(segment: str, fitting: int) -> int:
    """Move a cut back so it does not separate a mark or emoji modifier from its base."""
    cut = fitting
    while cut > 1 and (_extends_previous(segment[cut]) or segment[cut - 1] == "\u200d"):
        cut -= 1
    return cut if cut > 1 else fitting


def _extends_previous(char: str) -> bool:
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char == "\u200d"  # zero-width joiner
        or "\ufe00" <= char <= "\ufe0f"  # variation selectors
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tone modifiers
    )
