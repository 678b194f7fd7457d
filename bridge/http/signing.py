"""Signed, expiring media tokens: who may fetch which attachment, until when.

A token is ``payload.signature``, both url-safe base64 without padding; the payload is
the JSON list ``[version, gateway, user, ref, expires]`` and the signature its
HMAC-SHA256. No state is kept, so a link survives a restart as long as the key does.
The key is derived from the secrets key (never used as is), so the operator has no new
secret to keep. The payload is readable, not secret: it names the user and the
network's own media handle, never a credential.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

_VERSION = 1
_DERIVATION_LABEL = b"xmpp-bridge media links v1"
MAX_TOKEN_CHARS = 4096


class TokenRefused(Exception):
    """The token cannot be honoured; str() says why, for the person who clicked it."""


class BadToken(TokenRefused):
    """Malformed, altered, or signed with another key."""


class ExpiredToken(TokenRefused):
    """Genuine, but its time is over."""


@dataclass(frozen=True, slots=True)
class MediaGrant:
    """*user* of *gateway* may fetch the attachment *ref* until *expires* (Unix seconds)."""

    gateway: str
    user: str
    ref: str
    expires: int


class MediaSigner:
    """Signs and checks :class:`MediaGrant` tokens with one HMAC key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a media signing key needs at least 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "MediaSigner(<key hidden>)"

    @classmethod
    def from_secrets_key(cls, secrets_key: str) -> MediaSigner:
        """A signer whose key is derived from the ``[secrets]`` key."""
        derived = hmac.new(secrets_key.strip().encode("utf-8"), _DERIVATION_LABEL, hashlib.sha256)
        return cls(derived.digest())

    def sign(self, grant: MediaGrant) -> str:
        fields = [_VERSION, grant.gateway, grant.user, grant.ref, grant.expires]
        payload = _encode(json.dumps(fields, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{_encode(self._mac(payload))}"

    def verify(self, token: str, *, now: float) -> MediaGrant:
        """The grant inside *token*; raises BadToken or ExpiredToken."""
        if len(token) > MAX_TOKEN_CHARS:
            raise BadToken("This link is not valid: it is too long.")
        payload, dot, signature = token.partition(".")
        try:
            mac = _decode(signature)
            fields = json.loads(_decode(payload)) if dot else None
        except (ValueError, binascii.Error):
            raise BadToken("This link is not valid: it is malformed.") from None
        if fields is None or not hmac.compare_digest(mac, self._mac(payload)):
            raise BadToken("This link is not valid: it was altered or not made by this gateway.")
        grant = _grant(fields)
        if grant.expires <= now:
            raise ExpiredToken("This link has expired; ask the sender for the file again.")
        return grant

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()


def _grant(fields: object) -> MediaGrant:
    """The grant from a signed payload (the signature is checked before this)."""
    if not isinstance(fields, list) or len(fields) != 5 or fields[0] != _VERSION:
        raise BadToken("This link is not valid: it comes from another version of the gateway.")
    _, gateway, user, ref, expires = fields
    if not (isinstance(gateway, str) and isinstance(user, str) and isinstance(ref, str)):
        raise BadToken("This link is not valid: it is malformed.")
    if not isinstance(expires, int):
        raise BadToken("This link is not valid: it is malformed.")
    return MediaGrant(gateway, user, ref, expires)


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
