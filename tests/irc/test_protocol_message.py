"""IRC line parsing and serialising, including what hostile servers send."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.irc.protocol.message import (
    IrcMessage,
    LineBuffer,
    MalformedLine,
    cmd,
    nick_of,
    parse_line,
)


def test_full_line_with_tags_source_and_trailing() -> None:
    message = parse_line(
        b"@time=2024-01-01T00:00:00Z;msgid=abc :alice!a@host PRIVMSG #chan :hello there\r\n"
    )
    assert message.tags == {"time": "2024-01-01T00:00:00Z", "msgid": "abc"}
    assert message.source == "alice!a@host"
    assert message.command == "PRIVMSG"
    assert message.params == ("#chan", "hello there")


def test_command_is_upper_cased_and_numerics_stay_strings() -> None:
    assert parse_line(b"privmsg #c :x").command == "PRIVMSG"
    message = parse_line(b":server 001 nick :Welcome")
    assert message.command == "001"
    assert message.params == ("nick", "Welcome")


def test_no_source_and_middle_params_only() -> None:
    message = parse_line(b"PING token")
    assert message.source is None
    assert message.params == ("token",)


def test_empty_trailing_is_a_param_and_trailing_keeps_colons_and_spaces() -> None:
    assert parse_line(b"TOPIC #c :").params == ("#c", "")
    assert parse_line(b"PRIVMSG #c ::) a  b ").params == ("#c", ":) a  b ")


def test_repeated_and_leading_spaces_are_tolerated() -> None:
    message = parse_line(b"  :srv   MODE   #c  +o   bob")
    assert message.source == "srv"
    assert message.params == ("#c", "+o", "bob")


def test_tag_values_are_unescaped() -> None:
    message = parse_line(rb"@a=x\:y\sz\\w\r\n;b=end\;c=\q;d :s CMD")
    assert message.tags == {"a": "x;y z\\w\r\n", "b": "end", "c": "q", "d": ""}


def test_invalid_tags_are_dropped_not_the_line() -> None:
    message = parse_line(b"@=novalue;;ok=1;dup=1;dup=2 PING x")
    assert message.tags == {"ok": "1", "dup": "2"}
    assert message.params == ("x",)


def test_nul_lone_cr_and_embedded_lf_are_stripped() -> None:
    message = parse_line(b"PRIVMSG #c :a\x00b\rc\nd\r\n")
    assert message.params == ("#c", "abcd")


def test_invalid_utf8_falls_back_without_losing_the_line() -> None:
    assert parse_line(b"PRIVMSG #c :caf\xe9").params == ("#c", "café")
    assert parse_line(b"PRIVMSG #c :\xe9t\xe9", fallback_encoding="cp1252").params[1] == "été"
    # A character cut in half by a hostile server still gives a line.
    assert parse_line(b"PRIVMSG #c :\xe2\x82").command == "PRIVMSG"


def test_utf8_is_preferred_over_the_fallback() -> None:
    assert parse_line("PRIVMSG #c :é€".encode()).params[1] == "é€"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty line"),
        (b"\r\n", "empty line"),
        (b"   ", "empty line"),
        (b"\x00\x00", "empty line"),
        (b":server", "no command"),
        (b":server  ", "no command"),
        (b"@a=b", "no command"),
        (b"@a=b :srv", "no command"),
        (b": PRIVMSG x", "empty source"),
        (b"PRIV-MSG x", "invalid command"),
        (b"12 x", "invalid command"),
        (b"1234 x", "invalid command"),
    ],
)
def test_malformed_lines_say_what_is_wrong(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedLine, match=reason):
        parse_line(raw)


def test_long_lines_are_refused() -> None:
    with pytest.raises(MalformedLine, match="line too long"):
        parse_line(b"PRIVMSG #c :" + b"x" * 10_000)
    with pytest.raises(MalformedLine, match="tags too long"):
        parse_line(b"@a=" + b"x" * 9000 + b" PING x")


def test_tags_have_their_own_budget() -> None:
    tags = b"@a=" + b"x" * 8000 + b" "
    message = parse_line(tags + b"PRIVMSG #c :" + b"y" * 490)
    assert len(message.params[1]) == 490


def test_a_larger_announced_linelen_is_honoured() -> None:
    message = parse_line(b"PRIVMSG #c :" + b"x" * 1000, linelen=2048)
    assert len(message.params[1]) == 1000


def test_numerics_with_missing_params_parse_and_param_has_a_default() -> None:
    message = parse_line(b":srv 353")
    assert message.params == ()
    assert message.param(3) == ""
    assert message.param(-1, "none") == "none"
    assert parse_line(b":srv 332 me #c :topic").param(-1) == "topic"


@given(st.binary(max_size=600))
def test_arbitrary_bytes_either_parse_or_raise_malformed_line(raw: bytes) -> None:
    try:
        message = parse_line(raw)
    except MalformedLine:
        return
    assert message.command
    assert not any(char in param for param in message.params for char in "\0\r\n")


def test_to_line_serialises_with_trailing_only_when_needed() -> None:
    assert cmd("privmsg", "#c", "hello").to_line() == b"PRIVMSG #c hello\r\n"
    assert cmd("PRIVMSG", "#c", "hi there").to_line() == b"PRIVMSG #c :hi there\r\n"
    assert cmd("PRIVMSG", "#c", ":)").to_line() == b"PRIVMSG #c ::)\r\n"
    assert cmd("TOPIC", "#c", "").to_line() == b"TOPIC #c :\r\n"
    assert cmd("QUIT").to_line() == b"QUIT\r\n"


def test_to_line_escapes_tags_and_keeps_source() -> None:
    message = IrcMessage("TAGMSG", ("#c",), "me", {"+draft/reply": "a; b\\", "flag": ""})
    assert message.to_line() == b"@+draft/reply=a\\:\\sb\\\\;flag :me TAGMSG #c\r\n"


def test_to_line_uses_the_requested_encoding() -> None:
    assert cmd("PRIVMSG", "#c", "café €").to_line("latin-1") == b"PRIVMSG #c :caf\xe9 ?\r\n"


@pytest.mark.parametrize("bad", ["a\rb", "a\nPRIVMSG #x :pwned", "a\0b"])
def test_to_line_refuses_line_breaks_and_nul_in_params(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        cmd("PRIVMSG", "#c", bad).to_line()


def test_to_line_refuses_a_middle_param_that_would_shift_the_others() -> None:
    with pytest.raises(ValueError, match="only the last parameter"):
        cmd("KICK", "#c", "two words", "reason").to_line()
    with pytest.raises(ValueError, match="only the last parameter"):
        cmd("KICK", "#c", "", "reason").to_line()


# Text as XMPP can carry it: no lone surrogates, and no line breaks or NUL (refused above).
def _line_text(forbidden: str = "", min_size: int = 0) -> st.SearchStrategy[str]:
    characters = st.characters(
        blacklist_categories=["Cs"], blacklist_characters="\r\n\0" + forbidden
    )
    return st.text(characters, min_size=min_size)


@given(st.lists(_line_text(forbidden=" :", min_size=1), max_size=5), _line_text())
def test_serialised_messages_parse_back(middles: list[str], trailing: str) -> None:
    message = cmd("PRIVMSG", *middles, trailing, tags={"k": trailing + ";\\ "})
    parsed = parse_line(message.to_line(), linelen=1_000_000)
    assert parsed == message


def test_messages_are_immutable_values() -> None:
    tags = {"a": "1"}
    message = cmd("PING", "x", tags=tags)
    tags["a"] = "2"
    assert message.tags == {"a": "1"}
    with pytest.raises(TypeError):
        message.tags["b"] = "3"  # type: ignore[index]


@pytest.mark.parametrize(
    ("source", "nick"),
    [
        ("alice!a@host", "alice"),
        ("alice@host", "alice"),
        ("irc.srv.net", "irc.srv.net"),
        (None, ""),
    ],
)
def test_nick_of(source: str | None, nick: str) -> None:
    assert nick_of(source) == nick


def test_line_buffer_splits_and_strips_line_endings() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"PING a\r\nPING b\nPI") == [b"PING a", b"PING b"]
    assert buffer.feed(b"NG c\r") == []
    assert buffer.feed(b"\n\r\n\n") == [b"PING c"]


def test_line_buffer_joins_utf8_cut_across_reads() -> None:
    encoded = "PRIVMSG #c :€uro\r\n".encode()
    cut = encoded.index(b"\xe2") + 1
    buffer = LineBuffer()
    assert buffer.feed(encoded[:cut]) == []
    [line] = buffer.feed(encoded[cut:])
    assert parse_line(line).params[1] == "€uro"


def test_line_buffer_drops_an_endless_line_with_its_tail() -> None:
    buffer = LineBuffer(max_line_bytes=100)
    assert buffer.feed(b"PRIVMSG #c :" + b"x" * 200) == []
    assert buffer.cut_lines == 1
    # The rest of the cut line must not come out as a line of its own.
    assert buffer.feed(b"x" * 50 + b" PRIVMSG #victim :spoof") == []
    assert buffer.feed(b"yyy\r\nPING ok\r\n") == [b"PING ok"]
    assert buffer.cut_lines == 1


def test_line_buffer_drops_a_complete_overlong_line() -> None:
    buffer = LineBuffer(max_line_bytes=100)
    assert buffer.feed(b"x" * 10_000 + b"\r\nPING ok\r\n") == [b"PING ok"]
    assert buffer.cut_lines == 1


def test_line_buffer_keeps_a_line_exactly_at_the_cap() -> None:
    buffer = LineBuffer(max_line_bytes=10)
    assert buffer.feed(b"x" * 10) == []
    assert buffer.feed(b"\r\n") == [b"x" * 10]
    assert buffer.cut_lines == 0
