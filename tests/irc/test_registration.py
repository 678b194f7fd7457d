"""Connection registration, driven with plain lines: what goes out for what comes in."""

import base64
from collections.abc import Callable

import pytest

from bridge.errors import AuthFailed, NickInUse, NotConnected, NotSupported
from bridge.logsetup import REDACTOR
from plugins.irc.protocol.message import IrcMessage, parse_line
from plugins.irc.protocol.registration import Registration
from plugins.irc.protocol.sasl import Sasl, SaslExternal, SaslPlain, authenticate_lines
from plugins.irc.protocol.webirc import WebIrc

WANTED = frozenset({"server-time", "message-tags", "multi-prefix", "sasl", "batch"})


def wire(messages: list[IrcMessage]) -> list[str]:
    return [message.to_line().decode().rstrip("\r\n") for message in messages]


def feed(registration: Registration, *lines: str) -> list[str]:
    """Everything the registration answers to *lines*, as wire text."""
    out: list[str] = []
    for line in lines:
        out += wire(registration.receive(parse_line(line.encode())))
    return out


def plain(
    password: str | None = None, sasl: Sasl | None = None, webirc: WebIrc | None = None
) -> Registration:
    return Registration("alice", "alice", "Alice A.", password, sasl, webirc, WANTED)


def test_opening_lines_negotiate_caps_before_nick_and_user() -> None:
    assert wire(plain().start()) == ["CAP LS 302", "NICK alice", "USER alice 0 * :Alice A."]


def test_pass_goes_before_nick_and_webirc_first_of_all() -> None:
    webirc = WebIrc("gatewaysecret", "xmpp-bridge", "user.example.org", "::1")
    registration = plain(password="serverpass", webirc=webirc)
    assert wire(registration.start()) == [
        "WEBIRC gatewaysecret xmpp-bridge user.example.org 0::1",
        "CAP LS 302",
        "PASS serverpass",
        "NICK alice",
        "USER alice 0 * :Alice A.",
    ]


def test_multi_line_ls_then_only_offered_wanted_caps_are_requested() -> None:
    registration = plain()
    registration.start()
    assert feed(registration, ":irc.test CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL") == []
    out = feed(registration, ":irc.test CAP * LS :server-time away-notify")
    assert out == ["CAP REQ :multi-prefix server-time"]
    assert feed(registration, ":irc.test CAP alice ACK :multi-prefix server-time") == ["CAP END"]
    assert registration.enabled_caps == {"multi-prefix", "server-time"}
    assert feed(registration, ":irc.test 001 alice :Welcome") == []
    assert registration.done and registration.nick == "alice"


def test_a_refused_request_still_ends_negotiation_without_those_caps() -> None:
    registration = plain()
    feed(registration, ":irc.test CAP * LS :batch multi-prefix")
    assert feed(registration, ":irc.test CAP * NAK :batch multi-prefix") == ["CAP END"]
    assert registration.enabled_caps == frozenset()


def test_nothing_wanted_offered_ends_negotiation_at_once() -> None:
    assert feed(plain(), ":irc.test CAP * LS :away-notify") == ["CAP END"]


def sasl_until_payload(registration: Registration) -> list[str]:
    feed(registration, ":irc.test CAP * LS :sasl=PLAIN,EXTERNAL server-time")
    assert feed(registration, ":irc.test CAP * ACK :sasl server-time")[0].startswith(
        "AUTHENTICATE "
    )
    return feed(registration, "AUTHENTICATE +")


def test_sasl_plain_logs_in_then_ends_negotiation() -> None:
    registration = plain(sasl=SaslPlain("alice-account", "s3cret"))
    payload = base64.b64encode(b"\0alice-account\0s3cret").decode()
    assert sasl_until_payload(registration) == [f"AUTHENTICATE {payload}"]
    assert feed(registration, ":irc.test 900 alice a!a@h alice-account :Logged in") == []
    assert feed(registration, ":irc.test 903 alice :SASL successful") == ["CAP END"]
    assert registration.account == "alice-account"
    feed(registration, ":irc.test 001 alice :Welcome")
    assert registration.done and registration.failure is None


def test_sasl_is_requested_even_if_the_plugin_did_not_list_it() -> None:
    registration = Registration("a", "a", "A", sasl=SaslExternal())
    assert feed(registration, ":irc.test CAP * LS :sasl") == ["CAP REQ sasl"]


def test_sasl_external_sends_an_empty_response() -> None:
    registration = plain(sasl=SaslExternal())
    feed(registration, ":irc.test CAP * LS :sasl=EXTERNAL")
    assert feed(registration, ":irc.test CAP * ACK :sasl") == ["AUTHENTICATE EXTERNAL"]
    assert feed(registration, "AUTHENTICATE +") == ["AUTHENTICATE +"]


@pytest.mark.parametrize(
    ("payload_bytes", "pieces"),
    [
        (0, ["+"]),
        (30, ["40"]),
        (300, ["400", "+"]),
        (301, ["400", "4"]),
        (600, ["400", "400", "+"]),
    ],
)
def test_authenticate_pieces_are_400_bytes_with_a_final_plus_on_exact_multiples(
    payload_bytes: int, pieces: list[str]
) -> None:
    lines = [message.param(0) for message in authenticate_lines(b"x" * payload_bytes)]
    assert [line if line == "+" else str(len(line)) for line in lines] == pieces
    joined = "".join(line for line in lines if line != "+")
    assert base64.b64decode(joined) == b"x" * payload_bytes


@pytest.mark.parametrize(
    ("numeric", "expected"),
    [
        ("904 alice :SASL authentication failed", "check the SASL username and password"),
        ("902 alice :You must use a nick assigned to you", "account is locked"),
        ("905 alice :SASL message too long", "too long"),
        ("906 alice :SASL authentication aborted", "aborted"),
        ("908 alice EXTERNAL :are available SASL mechanisms", "offers EXTERNAL"),
    ],
)
def test_sasl_failures_say_what_to_fix_and_leave(numeric: str, expected: str) -> None:
    registration = plain(sasl=SaslPlain("alice", "wrong"))
    sasl_until_payload(registration)
    assert feed(registration, f":irc.test {numeric}") == ["QUIT :registration failed"]
    assert registration.failure is not None and expected in registration.failure
    assert registration.failure.startswith("SASL authentication failed")
    assert isinstance(registration.error, AuthFailed)
    assert not registration.done
    assert feed(registration, ":irc.test 001 alice :Welcome") == []


def test_external_failure_points_at_the_certificate() -> None:
    registration = plain(sasl=SaslExternal())
    sasl_until_payload(registration)
    feed(registration, ":irc.test 904 alice :SASL authentication failed")
    assert registration.failure is not None and "client certificate" in registration.failure


def test_a_mechanism_the_server_does_not_offer_fails_before_trying() -> None:
    registration = plain(sasl=SaslPlain("alice", "pw"))
    assert feed(registration, ":irc.test CAP * LS :sasl=EXTERNAL") == ["QUIT :registration failed"]
    assert registration.failure is not None and "offers EXTERNAL" in registration.failure


@pytest.mark.parametrize(
    "lines",
    [
        [":irc.test CAP * LS :server-time"],
        [":irc.test 421 * CAP :Unknown command"],
        [":irc.test 001 alice :Welcome"],
    ],
)
def test_sasl_configured_on_a_server_without_it_is_a_clear_failure(lines: list[str]) -> None:
    registration = plain(sasl=SaslPlain("alice", "pw"))
    feed(registration, *lines)
    assert registration.failure is not None and "SASL" in registration.failure
    assert isinstance(registration.error, NotSupported)
    assert not registration.done


def test_a_server_without_cap_registers_on_nick_and_user() -> None:
    registration = plain()
    assert feed(registration, ":irc.test 421 alice CAP :Unknown command") == []
    assert feed(registration, "PING :irc.test") == ["PONG irc.test"]
    feed(registration, ":irc.test 001 alice :Welcome", ":irc.test 005 alice NICKLEN=12 :are ok")
    assert registration.done and registration.enabled_caps == frozenset()
    assert registration.features.nicklen == 12


def test_nick_collisions_try_underscores_and_report_the_final_nick() -> None:
    registration = plain()
    assert feed(registration, ":irc.test 433 * alice :Nickname is already in use") == [
        "NICK alice_"
    ]
    assert feed(registration, ":irc.test 436 * alice_ :Nickname collision") == ["NICK alice__"]
    assert feed(registration, ":irc.test 432 * alice__ :Erroneous nickname") == ["NICK alice___"]
    feed(registration, ":irc.test 001 alice___ :Welcome")
    assert registration.nick == "alice___"


def test_after_the_underscores_run_out_the_user_is_told_to_choose_another_nick() -> None:
    registration = plain()
    out: list[str] = []
    for _ in range(20):
        out = feed(registration, ":irc.test 433 * x :Nickname is already in use")
        if registration.failure:
            break
    assert out == ["QUIT :registration failed"]
    assert registration.failure is not None and "choose another nick" in registration.failure
    assert isinstance(registration.error, NickInUse)


def test_underscores_stop_at_an_announced_nicklen() -> None:
    registration = plain()
    registration.receive(parse_line(b":irc.test 005 * NICKLEN=7 :are supported"))
    assert feed(registration, ":irc.test 433 * alice :in use") == ["NICK alice_"]
    assert feed(registration, ":irc.test 433 * alice :in use") == ["NICK alice__"]
    assert feed(registration, ":irc.test 433 * alice :in use") == ["QUIT :registration failed"]


def test_nick_errors_after_registration_are_not_ours_to_handle() -> None:
    registration = plain()
    feed(registration, ":irc.test 001 alice :Welcome")
    assert feed(registration, ":irc.test 433 alice bob :in use", "PING :x") == []


def test_a_wrong_server_password_is_reported_with_the_server_text() -> None:
    registration = plain(password="wrong")
    assert feed(registration, ":irc.test 464 * :Password incorrect") == [
        "QUIT :registration failed"
    ]
    assert registration.failure is not None
    assert (
        "server password" in registration.failure and "Password incorrect" in registration.failure
    )
    assert isinstance(registration.error, AuthFailed)


def test_error_from_the_server_fails_without_answering() -> None:
    registration = plain()
    assert feed(registration, "ERROR :Closing link: banned") == []
    assert registration.failure == "the server closed the link: Closing link: banned"
    assert isinstance(registration.error, NotConnected)


def test_secrets_are_in_no_repr_and_are_masked_in_logs() -> None:
    sasl = SaslPlain("alice", "sasl-pw-123")
    webirc = WebIrc("webirc-pw-456", "gw", "host", "192.0.2.1")
    registration = plain(password="pass-pw-789", sasl=sasl, webirc=webirc)
    texts = [repr(sasl), repr(webirc), repr(registration)]
    assert not any(secret in text for text in texts for secret in ("123", "456", "789"))
    sent = " ".join(wire(registration.start() + authenticate_lines(sasl.payload())))
    logged = REDACTOR.redact(sent)  # what configure_logging's filter makes of a log line
    assert "pw-" not in logged
    assert base64.b64encode(sasl.payload()).decode() not in logged
    assert "NICK alice" in logged


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: Registration("two words", "u", "r"), "nick"),
        (lambda: SaslPlain("alice", ""), "password"),
        (lambda: WebIrc("pw", "gw", "host", "not-an-ip"), "ip"),
    ],
)
def test_bad_settings_are_refused_by_name(build: Callable[[], object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        build()
