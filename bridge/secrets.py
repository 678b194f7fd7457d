"""Secrets encrypted at rest: IRC passwords, Matrix access tokens, channel keys.

A :class:`SecretBox` turns a mapping of secret values into an opaque blob (Fernet:
AES-128-CBC with an HMAC, so a wrong key is detected rather than yielding garbage), so
the database file alone reveals none of them. The key comes from the config file or the
environment (:func:`load_key`); ``xmpp-bridge keygen`` prints a fresh one. The cipher
(cryptography: ~7 MB of native code) is loaded at the first secret sealed or opened, so a
gateway nobody has registered with yet does without it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bridge.config import SecretsConfig, is_fernet_key

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEYGEN_HINT = "run `xmpp-bridge keygen` to print a new key"


class SecretKeyError(Exception):
    """The secrets key is missing, malformed, or not the one the data was encrypted with."""


def generate_key() -> str:
    """A new random key: url-safe base64 of 32 bytes, as :class:`SecretBox` expects."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


class SecretBox:
    """Encrypts and decrypts a ``dict[str, str]`` of secrets with one key."""

    def __init__(self, key: str) -> None:
        key = key.strip()
        if not is_fernet_key(key):
            raise SecretKeyError(
                f"the secrets key is not url-safe base64 of 32 bytes; {KEYGEN_HINT}"
            )
        self._key = key.encode("ascii")
        self._fernet: Fernet | None = None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def _cipher(self) -> Fernet:
        """The Fernet cipher, made (and cryptography imported) at its first use."""
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._key)
        return self._fernet

    def encrypt(self, secrets: Mapping[str, str]) -> bytes:
        """An opaque blob holding *secrets*; a new random IV each time."""
        for name, value in secrets.items():
            if not isinstance(value, str):
                raise TypeError(f"secret {name!r} must be a str, not {type(value).__name__}")
        plain = json.dumps(dict(secrets), separators=(",", ":"), sort_keys=True)
        return self._cipher().encrypt(plain.encode("utf-8"))

    def decrypt(self, blob: bytes) -> dict[str, str]:
        """The secrets in *blob*; :class:`SecretKeyError` if another key sealed it."""
        cipher = self._cipher()
        from cryptography.fernet import InvalidToken  # loaded with the cipher

        try:
            plain = cipher.decrypt(blob)
        except InvalidToken:
            raise SecretKeyError(
                "the stored secrets were encrypted with another key (or are corrupt): "
                "configure the key they were stored with ([secrets] key or its environment "
                "variable), or remove and redo the registrations"
            ) from None
        loaded = json.loads(plain)
        return {str(name): str(value) for name, value in loaded.items()}


def load_key(config: SecretsConfig, environ: Mapping[str, str]) -> SecretBox:
    """The box for the configured key: ``[secrets] key`` first, else the ``key_env`` variable."""
    if config.key is not None:
        return SecretBox(config.key.get_secret_value())
    from_env = environ.get(config.key_env, "").strip()
    if from_env:
        return SecretBox(from_env)
    raise SecretKeyError(
        f"no secrets key: set `key` in the [secrets] table or the environment variable "
        f"{config.key_env}; {KEYGEN_HINT}"
    )
