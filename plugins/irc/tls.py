"""TLS for IRC connections: verified by default, or pinned to one certificate.

Many IRC servers run self-signed certificates. Rather than turning verification off, a
user can pin the certificate's fingerprint (as Biboumi's ``fingerprint`` setting does):
the connection is then accepted only if the server presents exactly that certificate.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

_NOT_HEX = re.compile(r"[\s:]")
_DIGESTS = {64: "sha256", 40: "sha1"}


class CertificateRefused(Exception):
    """The server's certificate is not the one the user pinned."""


def normalise_fingerprint(text: str) -> str:
    """``AB:CD:…`` or ``abcd…`` → lower-case hex; refuses anything but SHA-256 or SHA-1."""
    hex_digits = _NOT_HEX.sub("", text).lower()
    if len(hex_digits) not in _DIGESTS or not all(c in "0123456789abcdef" for c in hex_digits):
        raise ValueError(
            "fingerprint must be a SHA-256 (64 hex digits) or SHA-1 (40 hex digits) hash of"
            f" the server certificate, colons allowed; found {text!r}"
        )
    return hex_digits


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How to trust the server, and which client certificate to show (for SASL EXTERNAL)."""

    verify: bool = True
    fingerprint: str | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    def __post_init__(self) -> None:
        if self.fingerprint is not None:
            object.__setattr__(self, "fingerprint", normalise_fingerprint(self.fingerprint))
        if self.keyfile is not None and self.certfile is None:
            raise ValueError("a client key file needs its certificate file (certfile)")

    def context(self) -> ssl.SSLContext:
        """An SSL context; raises ValueError naming the client certificate that cannot load."""
        context = ssl.create_default_context()
        if self.fingerprint is not None or not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.certfile is not None:
            try:
                context.load_cert_chain(self.certfile, self.keyfile)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(
                    f"client certificate {self.certfile} cannot be loaded: {exc}"
                ) from exc
        return context

    def check_pin(self, der_certificate: bytes | None) -> None:
        """Raise :class:`CertificateRefused` unless the certificate matches the pinned one."""
        if self.fingerprint is None:
            return
        if der_certificate is None:
            raise CertificateRefused("the server presented no certificate")
        digest = _DIGESTS[len(self.fingerprint)]
        found = hashlib.new(digest, der_certificate).hexdigest()
        if found != self.fingerprint:
            raise CertificateRefused(
                f"the server certificate's {digest.upper()} fingerprint is {found},"
                " not the pinned one; if the server changed its certificate, update the"
                " fingerprint setting"
            )


def describe_tls_error(exc: ssl.SSLError) -> str:
    """A TLS failure in words a user can act on."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the server certificate is not trusted ({exc.verify_message}); pin its"
            " fingerprint if you trust it anyway"
        )
    return f"TLS failed: {exc.reason or exc}"
