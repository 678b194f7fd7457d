"""CTCP in message bodies: ACTION for /me, VERSION and PING answers."""

import pytest

from plugins.irc.protocol.ctcp import (
    Ctcp,
    action,
    action_to_me,
    me_text,
    parse_ctcp,
    ping_reply,
    version_reply,
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("\x01ACTION waves\x01", Ctcp("ACTION", "waves")),
        ("\x01ACTION waves at  you \x01", Ctcp("ACTION", "waves at  you ")),
        ("\x01ACTION waves", Ctcp("ACTION", "waves")),  # closing \x01 forgotten
        ("\x01version\x01", Ctcp("VERSION")),
        ("\x01PING 1234 5678\x01", Ctcp("PING", "1234 5678")),
        ("\x01ACTION\x01", Ctcp("ACTION")),
    ],
)
def test_parse(body: str, expected: Ctcp) -> None:
    assert parse_ctcp(body) == expected


@pytest.mark.parametrize(
    "body", ["hello", "", " \x01ACTION x\x01", "\x01", "\x01\x01", "\x01 x\x01"]
)
def test_ordinary_or_empty_bodies_are_not_ctcp(body: str) -> None:
    assert parse_ctcp(body) is None


def test_builders() -> None:
    assert action("waves") == "\x01ACTION waves\x01"
    assert version_reply("xmpp-bridge 0.1") == "\x01VERSION xmpp-bridge 0.1\x01"
    assert ping_reply(Ctcp("PING", "1234")) == "\x01PING 1234\x01"
    assert ping_reply(Ctcp("PING")) == "\x01PING\x01"


def test_a_delimiter_in_the_argument_cannot_end_the_ctcp_early() -> None:
    body = action("a\x01b")
    assert body == "\x01ACTION ab\x01"
    assert parse_ctcp(body) == Ctcp("ACTION", "ab")


def test_me_round_trip() -> None:
    assert me_text("/me waves") == "waves"
    assert me_text("/met someone") is None
    assert me_text("hello /me") is None
    parsed = parse_ctcp(action("waves"))
    assert parsed is not None
    assert action_to_me(parsed) == "/me waves"
