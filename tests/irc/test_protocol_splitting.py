"""Splitting XMPP messages into IRC lines that arrive whole."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import cmd
from plugins.irc.protocol.splitting import max_body_bytes, prefix_length, split_message


def test_short_lines_become_one_message_each_and_blank_lines_go() -> None:
    assert split_message("hello\r\n\n  \nworld\n", 100) == ["hello", "world"]
    assert split_message("", 100) == []
    assert split_message(" \n\t", 100) == []


def test_long_line_is_cut_on_a_space_near_the_end() -> None:
    text = "word " * 30  # 150 bytes
    pieces = split_message(text.strip(), 52)
    assert pieces[0] == "word " * 9 + "word"  # 49 bytes, the space after it dropped
    assert all(len(piece.encode()) <= 52 for piece in pieces)
    assert " ".join(pieces) == text.strip()


def test_a_space_just_after_what_fits_is_used() -> None:
    assert split_message("hello world", 5) == ["hello", "world"]


def test_without_a_nearby_space_the_cut_is_between_characters() -> None:
    # The only space is too early to be worth it; the cut never splits a code point.
    text = "a " + "é" * 20
    pieces = split_message(text, 9)
    assert pieces == ["a ééé", "éééé", "éééé", "éééé", "éééé", "é"]
    assert "".join(pieces) == text


def test_emoji_and_combining_marks_stay_with_their_base() -> None:
    thumbs = "\U0001f44d\U0001f3fd"  # thumbs up, skin tone: 8 bytes
    pieces = split_message("ab" + thumbs + "cd", 8)
    assert pieces == ["ab", thumbs, "cd"]
    accented = "e\u0301"  # e + combining acute
    assert split_message("abcd" + accented + "f", 5) == ["abcd", accented + "f"]


def test_too_small_a_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="body of 3 bytes"):
        split_message("hello", 3)


@given(st.text(), st.integers(min_value=4, max_value=80))
def test_pieces_fit_and_nothing_is_lost(text: str, max_bytes: int) -> None:
    pieces = split_message(text, max_bytes)
    assert all(0 < len(piece.encode()) <= max_bytes for piece in pieces)
    lines = [line for line in text.replace("\r", "").split("\n") if line.strip()]
    assert pieces == [piece for line in lines for piece in split_message(line, max_bytes)]
    for line in lines:
        assert _rejoins(line, split_message(line, max_bytes))


def _rejoins(line: str, pieces: list[str]) -> bool:
    """Whether the pieces, each glued on directly or after one whitespace, give ``line``."""
    ends = {0}
    for index, piece in enumerate(pieces):
        starts = {end for end in ends}
        if index:
            starts |= {end + 1 for end in ends if end < len(line) and line[end].isspace()}
        ends = {start + len(piece) for start in starts if line.startswith(piece, start)}
    # A whitespace cut at the very end of the line leaves no piece behind it.
    return len(line) in ends or any(end == len(line) - 1 and line[end].isspace() for end in ends)


def test_a_trailing_whitespace_cut_leaves_no_empty_piece() -> None:
    assert split_message("hello ", 5) == ["hello"]


def test_prefix_length_guesses_the_unknown_conservatively() -> None:
    assert prefix_length("nick", "user", "host.example") == len("nick!user@host.example")
    assert prefix_length("nick") == 4 + 1 + 11 + 1 + 63
    assert prefix_length("nick", "~u") == 4 + 1 + 2 + 1 + 63


def test_relayed_lines_of_max_body_bytes_fit_the_server_limit() -> None:
    features = ServerFeatures()
    source = "alice!~alice@some.host.example"
    budget = max_body_bytes(features, len(source), "PRIVMSG", "#chan")
    relayed = cmd("PRIVMSG", "#chan", "x" * (budget - 2) + " y")
    line = b":" + source.encode() + b" " + relayed.to_line()
    assert len(line) == 512


def test_action_and_larger_linelen() -> None:
    features = ServerFeatures()
    plain = max_body_bytes(features, 80, "PRIVMSG", "#chan")
    assert max_body_bytes(features, 80, "PRIVMSG", "#chan", ctcp_action=True) == plain - 9
    bigger = ServerFeatures().with_tokens(["LINELEN=1024"])
    assert max_body_bytes(bigger, 80, "PRIVMSG", "#chan") == plain + 512
    assert max_body_bytes(features, 80, "NOTICE", "#chan") == plain + 1
    assert max_body_bytes(features, 80, "PRIVMSG", "#café") == plain - 1
