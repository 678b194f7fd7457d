"""IRC formatting codes → XEP-0393 message styling, and control characters out of text.

IRC toggles styles with control bytes that may overlap freely; XEP-0393 spans must nest,
may not start or end with whitespace, and must not be empty. Spans are opened lazily
(right before the next visible character) and closed before trailing whitespace, so
``\\x02bold \\x02text`` becomes ``*bold* text``. Every control character is dropped on
the way: XML cannot carry most of them, and a stanza with one would cost the stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum


class Style(Enum):
    """The IRC styles XEP-0393 can show; values are the span markers, outermost first."""

    BOLD = "*"
    ITALIC = "_"
    STRIKE = "~"
    MONOSPACE = "`"


_TOGGLES = {"\x02": Style.BOLD, "\x1d": Style.ITALIC, "\x1e": Style.STRIKE, "\x11": Style.MONOSPACE}
_RESET = "\x0f"
# Colours (mIRC \x03 and hex \x04) with their optional arguments, then any other control
# character: C0 but tab, and the two non-characters XML 1.0 forbids.
_CODE = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?"
    r"|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"
    r"|[\x00-\x08\x0a-\x1f\ufffe\uffff]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def irc_to_plain(text: str) -> str:
    """``text`` without formatting: no byte below 0x20 remains but tab."""
    return "".join(chunk for chunk, _ in _styled_chunks(text))


def irc_to_styled(text: str) -> str:
    """``text`` with bold, italics, strikethrough and monospace as XEP-0393 spans."""
    if _CODE.search(text) is None:
        return text  # most lines: nothing to translate or drop
    out: list[str] = []
    open_spans: list[Style] = []
    for chunk, styles in _styled_chunks(text):
        if not styles and not open_spans:
            out.append(chunk)  # unstyled text between styled runs goes as it is
            continue
        for char in chunk:
            if char.isspace():
                out.append(char)
                continue
            keep = _common_prefix(open_spans, styles)
            _close(out, open_spans, keep)
            for style in Style:
                if style in styles and style not in open_spans:
                    open_spans.append(style)
                    out.append(style.value)
            out.append(char)
    _close(out, open_spans, 0)
    return "".join(out)


def plain_to_irc(text: str) -> str:
    """XMPP text as IRC sends it: as typed, without control characters.

    Tabs and newlines stay (splitting turns lines into messages); everything else below
    0x20 goes, so nobody injects formatting or CTCP by accident or on purpose.
    """
    return _CONTROL.sub("", text.replace("\r", ""))


def _styled_chunks(text: str) -> Iterator[tuple[str, frozenset[Style]]]:
    """The visible text, cut where the style changes."""
    styles: set[Style] = set()
    position = 0
    for match in _CODE.finditer(text):
        if match.start() > position:
            yield text[position : match.start()], frozenset(styles)
        position = match.end()
        code = match[0][0]
        if code in _TOGGLES:
            styles ^= {_TOGGLES[code]}
        elif code == _RESET:
            styles.clear()
    if position < len(text):
        yield text[position:], frozenset(styles)


def _common_prefix(open_spans: list[Style], wanted: frozenset[Style]) -> int:
    """How many of the open spans (outermost first) can stay open."""
    for depth, style in enumerate(open_spans):
        if style not in wanted:
            return depth
    return len(open_spans)


def _close(out: list[str], open_spans: list[Style], keep: int) -> None:
    """Close spans down to ``keep``, before any whitespace written since the last character."""
    if keep == len(open_spans):
        return
    trailing: list[str] = []
    while out and out[-1].isspace():
        trailing.append(out.pop())
    while len(open_spans) > keep:
        out.append(open_spans.pop().value)
    out.extend(reversed(trailing))
