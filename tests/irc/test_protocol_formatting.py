"""IRC formatting shown to XMPP users, and control characters kept out of XML."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.irc.protocol.formatting import irc_to_plain, irc_to_styled, plain_to_irc

B, IT, S, M, U, C, R, REV = "\x02", "\x1d", "\x1e", "\x11", "\x1f", "\x03", "\x0f", "\x16"
MARKERS = "*_~`"


@pytest.mark.parametrize(
    ("irc", "styled"),
    [
        (f"{B}bold{B} text", "*bold* text"),
        (f"{IT}it{IT}", "_it_"),
        (f"{S}gone{S}", "~gone~"),
        (f"{M}code(){M}", "`code()`"),
        (f"{U}underlined{U}", "underlined"),
        (f"{B}{IT}both{IT}{B}", "*_both_*"),
        (f"{B}a {IT}b{IT} c{B}", "*a _b_ c*"),
        (f"{B}unclosed", "*unclosed*"),
        (f"{B}a{R}b", "*a*b"),
        (f"{B}bold {B}text", "*bold* text"),
        (f"x{B} spaced {B}y", "x *spaced* y"),
        (f"{B}   {B}x", "   x"),
        (f"{B}{B}", ""),
        (f"{B}\t", "\t"),
        (f"{C}4red{C} and {C}04,12both{C}", "red and both"),
        (f"{C}4,x", ",x"),
        (f"{C}123", "3"),
        (f"{C},5", ",5"),
        ("\x04FF0000hex\x04 \x04abcdef,000000z", "hex z"),
        (f"{REV}reverse{REV}", "reverse"),
        (f"{B}{C}3green bold", "*green bold*"),
    ],
)
def test_irc_to_styled(irc: str, styled: str) -> None:
    assert irc_to_styled(irc) == styled


def test_overlapping_styles_still_nest() -> None:
    # IRC closes bold inside italics' lifetime; XEP-0393 spans must nest.
    styled = irc_to_styled(f"{B}a {IT}b{B} c{IT}")
    assert styled == "*a _b_* _c_"


@pytest.mark.parametrize(
    ("irc", "plain"),
    [
        (f"{B}bold{B} {C}4,5col{R}\x04ff00ff", "bold col"),
        ("a\x00b\x07c\x1bd\ne\rf\tg", "abcdef\tg"),
        ("bad\ufffe\uffffxml", "badxml"),
    ],
)
def test_irc_to_plain(irc: str, plain: str) -> None:
    assert irc_to_plain(irc) == plain


IRC_TEXT = st.text(st.sampled_from(["a", "b", " ", "\t", "1", ",", B, IT, S, M, U, C, R, REV]))


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    for converted in (irc_to_plain(text), irc_to_styled(text)):
        assert all(char == "\t" or ord(char) >= 0x20 for char in converted)
        assert "\ufffe" not in converted
        assert "\uffff" not in converted


@given(IRC_TEXT)
def test_styling_only_adds_markers_to_the_plain_text(text: str) -> None:
    styled = irc_to_styled(text)
    assert "".join(char for char in styled if char not in MARKERS) == irc_to_plain(text)


@given(IRC_TEXT)
def test_spans_are_valid_xep_0393(text: str) -> None:
    styled = irc_to_styled(text)
    stack: list[str] = []
    for index, char in enumerate(styled):
        if char not in MARKERS:
            continue
        if stack and stack[-1] == char:
            stack.pop()
            assert not styled[index - 1].isspace(), styled  # no whitespace before a closer
        else:
            stack.append(char)
            following = styled[index + 1 : index + 2]
            assert following and not following.isspace(), styled  # none after an opener
    assert stack == []


def test_plain_to_irc_keeps_text_and_line_breaks_but_no_controls() -> None:
    assert plain_to_irc("*bold* _it_ `x`") == "*bold* _it_ `x`"
    assert plain_to_irc("line one\r\nline\ttwo") == "line one\nline\ttwo"
    assert plain_to_irc("\x01ACTION fake\x01 \x02b\x03") == "ACTION fake b"
