"""Logging set-up that keeps every known secret out of every log line.

Any code that learns a secret (the component secret, a user's IRC password, a Matrix
token, the encryption key) calls :func:`register_secret`; from then on the secret is
replaced by ``***`` in the message, the arguments, the exception text and the stack text of
every record.

Redaction is exact: only the registered strings are hidden. Code that logs a derived form
of a secret (base64 for SASL, percent-encoding in a URL) must register that form too. There
is no guessing at ``password=…`` pairs: a heuristic would hide some secrets and give false
confidence about the rest.

Secrets of any length are redacted, even one character long. The price of a very short
secret is a log where every occurrence of those characters is masked, which makes it hard
to read; the alternative, leaving it visible, would reveal the secret. An empty string is
ignored, since it would match everywhere.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable
from typing import Any, Final, TextIO

MASK: Final = "***"

# slixmpp logs every raw stanza at DEBUG on this logger before any handler of ours runs, so a
# password submitted in a registration form would reach the log before it could be
# registered as a secret. It stays at INFO whatever the configured level.
RAW_STANZA_LOGGER: Final = "slixmpp.xmlstream.xmlstream"

_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Redactor(logging.Filter):
    """A logging filter that rewrites records so that no registered secret remains in them."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        """Hide *secret* from now on; safe to call from any thread, at any time."""
        if not secret:
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact *record* in place (message merged with its arguments); never drops it."""
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format string
            message = f"{record.msg} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR: Final = Redactor()
"""The process-wide registry of secrets."""


def register_secret(value: str) -> None:
    """Keep *value* out of every log line from now on."""
    REDACTOR.add(value)


class _OurHandler(logging.StreamHandler[TextIO]):
    """The handler configure_logging installs, told apart so a second call replaces it."""


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Log at *level* (a name such as "INFO") to *stream* (stderr by default), redacted.

    Records are redacted when they are created, so handlers added later by anyone (a
    library, a test harness) receive them clean; the handler installed here also carries
    the filter for records that were built without the record factory.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
        handler.close()
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(REDACTOR)
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger(RAW_STANZA_LOGGER).setLevel(max(numeric, logging.INFO))
    _install_record_factory()


class _RedactingFactory:
    """A log record factory that redacts each record as it is born."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self._inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._inner(*args, **kwargs)
        REDACTOR.filter(record)
        return record


def _install_record_factory() -> None:
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))
