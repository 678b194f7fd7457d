"""SASL for IRC (IRCv3 ``sasl`` capability): credentials, AUTHENTICATE lines, failure texts.

Credentials are values whose secrets never show in a repr, and whose wire forms (the
password and its base64 encoding) are registered with the log redactor the moment they
exist, so no log line can carry them whatever later code logs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Final

from bridge.logsetup import register_secret
from plugins.irc.protocol.message import IrcMessage, cmd

AUTHENTICATE_CHUNK: Final = 400
"""IRCv3: AUTHENTICATE payloads are sent in pieces of 400 bytes of base64."""

SASL_NUMERICS: Final = frozenset({"902", "903", "904", "905", "906", "907", "908"})


@dataclass(frozen=True, slots=True)
class SaslPlain:
    """Account name and password, sent as ``\\0account\\0password`` (no authorization id)."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.username or not self.password:
            raise ValueError("SASL PLAIN needs both a username and a password")
        if "\0" in self.username or "\0" in self.password:
            raise ValueError("SASL username and password may not contain NUL characters")
        register_secret(self.password)

    @property
    def mechanism(self) -> str:
        return "PLAIN"

    def payload(self) -> bytes:
        return b"\0" + self.username.encode() + b"\0" + self.password.encode()


@dataclass(frozen=True, slots=True)
class SaslExternal:
    """Log in with the client certificate presented during the TLS handshake."""

    @property
    def mechanism(self) -> str:
        return "EXTERNAL"

    def payload(self) -> bytes:
        return b""


Sasl = SaslPlain | SaslExternal


def authenticate_lines(payload: bytes) -> list[IrcMessage]:
    """The AUTHENTICATE lines carrying *payload*: 400-byte pieces, ``+`` to end or for nothing.

    A payload whose encoding is a multiple of 400 bytes long needs a final ``+``, or the
    server would keep waiting for another piece.
    """
    encoded = base64.b64encode(payload).decode("ascii")
    pieces = [
        encoded[start : start + AUTHENTICATE_CHUNK]
        for start in range(0, len(encoded), AUTHENTICATE_CHUNK)
    ]
    for piece in pieces:
        register_secret(piece)
    if len(encoded) % AUTHENTICATE_CHUNK == 0:
        pieces.append("+")
    return [cmd("AUTHENTICATE", piece) for piece in pieces]


_FAILURE_HINTS: Final = {
    "902": "the account is locked or the nick is held by another account",
    "904": "check the SASL username and password",
    "905": "the SASL credentials are too long for this server",
    "906": "the server aborted the exchange; try again",
    "907": "this connection was already authenticated",
}
_EXTERNAL_HINT: Final = "check that the client certificate is registered with your account"


def failure_text(numeric: str, sasl: Sasl, server_text: str) -> str:
    """What the user reads when SASL fails: what went wrong and what to change."""
    if numeric == "908":
        hint = f"the server does not accept SASL {sasl.mechanism}; it offers {server_text}"
        return f"SASL authentication failed: {hint}"
    hint = _FAILURE_HINTS.get(numeric, "the server refused the login")
    if numeric == "904" and isinstance(sasl, SaslExternal):
        hint = _EXTERNAL_HINT
    said = f" (server said: {server_text})" if server_text else ""
    return f"SASL authentication failed: {hint}{said}"
