"""Logs never show a registered secret, whatever the level, the handler or the path it takes."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest

from bridge.logsetup import RAW_STANZA_LOGGER, Redactor, configure_logging, register_secret


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Logging configured at DEBUG into a buffer; the root logger restored afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging("debug", stream)
    yield stream
    for handler in root.handlers:
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)


def fresh_secret() -> str:
    """A secret no other test logs, since the registry lives as long as the process."""
    return f"pw-{uuid.uuid4().hex}"


def fail_with(secret: str) -> None:
    raise ValueError(f"login refused for password {secret}")


def test_secret_hidden_at_every_level_and_in_tracebacks(log_output: io.StringIO) -> None:
    secret = fresh_secret()
    register_secret(secret)
    log = logging.getLogger("bridge.test")
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        log.log(level, "inline %s and as argument %s", "text", secret)
        log.log(level, f"formatted in advance {secret}")
    try:
        fail_with(secret)
    except ValueError:
        log.exception("registration failed")
    log.warning("with the stack", stack_info=True, extra={"unused": secret})
    output = log_output.getvalue()
    assert secret not in output
    assert output.count("***") == 11
    assert "ValueError: login refused for password ***" in output
    assert "CRITICAL bridge.test: inline text and as argument ***" in output


def test_secret_registered_after_configuration(log_output: io.StringIO) -> None:
    secret = fresh_secret()
    logging.getLogger("bridge.test").info("before: %s", secret)
    register_secret(secret)
    logging.getLogger("bridge.test").info("after: %s", secret)
    assert log_output.getvalue().splitlines()[-1].endswith("after: ***")


def test_handlers_added_later_receive_redacted_records(log_output: io.StringIO) -> None:
    secret = fresh_secret()
    register_secret(secret)
    elsewhere = io.StringIO()
    library_logger = logging.getLogger("some.library")
    library_handler = logging.StreamHandler(elsewhere)
    library_logger.addHandler(library_handler)
    try:
        library_logger.error("token is %s", secret)
    finally:
        library_logger.removeHandler(library_handler)
    assert elsewhere.getvalue() == "token is ***\n"


def test_raw_stanzas_stay_out_of_debug_logs(log_output: io.StringIO) -> None:
    """slixmpp logs a registration form before the gateway could register its password."""
    logging.getLogger(RAW_STANZA_LOGGER).debug("RECV: <password>unregistered</password>")
    logging.getLogger("bridge.test").debug("other debug lines still pass")
    output = log_output.getvalue()
    assert "unregistered" not in output
    assert "other debug lines still pass" in output


def test_arguments_that_do_not_fit_the_format_are_still_redacted(
    log_output: io.StringIO,
) -> None:
    secret = fresh_secret()
    register_secret(secret)
    logging.getLogger("bridge.test").error("one placeholder %s %s", secret)
    output = log_output.getvalue()
    assert secret not in output
    assert "one placeholder" in output


def test_configure_twice_keeps_one_handler(log_output: io.StringIO) -> None:
    configure_logging("INFO", log_output)
    logging.getLogger("bridge.test").info("once")
    logging.getLogger("bridge.test").debug("not at INFO")
    assert log_output.getvalue().count("once") == 1
    assert "not at INFO" not in log_output.getvalue()


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("LOUD")


def test_longest_secret_masked_whole_and_short_ones_too() -> None:
    redactor = Redactor()
    for secret in ("abc", "abcdef", "x7", ""):
        redactor.add(secret)
    assert redactor.redact("abcdef abc x7 y") == "*** *** *** y"
