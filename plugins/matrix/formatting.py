"""Matrix HTML (``org.matrix.custom.html``) ⇄ XEP-0393 message styling.

Incoming HTML comes from any client, well-formed or not: the stdlib parser reads it
leniently and the conversion never raises. Style spans open lazily (right before the
next visible character) and close before trailing whitespace, because XEP-0393 spans may
not start or end with whitespace nor cross a line. Outgoing text is escaped first and
only spans XEP-0393 would render become tags, so a client shows what the XMPP user saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

HTML_FORMAT = "org.matrix.custom.html"
MENTION_PREFIX = "https://matrix.to/#/@"

_SPAN_TAGS = {
    "strong": "*",
    "b": "*",
    "em": "_",
    "i": "_",
    "del": "~",
    "s": "~",
    "strike": "~",
}
_BLOCK_TAGS = {"p", "div", "table", "tr", "hr", "details", "summary", "caption", "ul", "ol"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_HIDDEN_TAGS = {"mx-reply", "script", "style", "head", "title"}
_VOID_TAGS = {"br", "hr", "img", "input", "meta", "link", "wbr", "area", "col", "source"}
_SPACES = re.compile(r"\s+")
_LANGUAGE = re.compile(r"language-([\w+#.-]+)")
_BULLET = "• "


@dataclass(slots=True)
class _ListLevel:
    ordered: bool
    next_number: int = 1


@dataclass(slots=True, eq=False)
class _Link:
    href: str
    text: list[str] = field(default_factory=list)


class _StyledTextWriter(HTMLParser):
    """Collects the XEP-0393 text of one formatted body, tag by tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._closers: list[tuple[str, Callable[[], None]]] = []
        self._at_line_start = True
        self._pending_newlines = 0
        self._trailing_newlines = 0
        self._line_lead = ""
        self._pending_spans: list[str] = []
        self._open_spans: list[str] = []
        self._hidden = 0
        self._quote_depth = 0
        self._code_depth = 0
        self._pre: list[str] | None = None
        self._pre_language = ""
        self._lists: list[_ListLevel] = []
        self._links: list[_Link] = []

    # ------------------------------------------------------------------------ results

    def text(self) -> str:
        self.close()
        while self._closers:
            self._closers.pop()[1]()
        self._close_open_spans()
        return "".join(self._out).rstrip()

    # ------------------------------------------------------------------------ parser hooks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if self._hidden or tag in _HIDDEN_TAGS:
            if tag not in _VOID_TAGS:
                self._hidden += 1
                self._closers.append((tag, self._unhide))
            return
        if self._pre is not None:
            self._inside_pre(tag, attributes)
            return
        if tag == "br":
            self._flush_newlines()
            self._newline()
        elif tag == "img":
            self.handle_data(attributes.get("alt") or attributes.get("title") or "[image]")
        elif tag in _SPAN_TAGS:
            self._open_span(tag, _SPAN_TAGS[tag])
        elif tag == "code":
            self._open_code(tag)
        elif tag == "pre":
            self._open_pre()
        elif tag == "blockquote":
            self._open_quote()
        elif tag == "a":
            self._open_link(attributes.get("href", ""))
        elif tag == "li":
            self._open_item()
        elif tag in _HEADINGS:
            self._break(1)
            self._open_span(tag, "*", after=lambda: self._break(1))
        elif tag in _BLOCK_TAGS:
            self._open_block(tag, attributes)
        elif tag in ("td", "th"):
            if not self._at_line_start:
                self._space()
            self._closers.append((tag, _nothing))
        elif tag not in _VOID_TAGS:
            self._closers.append((tag, _nothing))

    def handle_endtag(self, tag: str) -> None:
        if all(name != tag for name, _ in self._closers):
            return
        while self._closers:
            name, closer = self._closers.pop()
            closer()
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre is not None:
            self._pre.append(data)
            return
        text = _SPACES.sub(" ", data)
        for link in self._links:
            link.text.append(text)
        core = text.lstrip(" ")
        if core != text and not self._at_line_start and not self._pending_newlines:
            self._space()
        if core:
            self._write_visible(core)

    # ------------------------------------------------------------------------ tag handlers

    def _unhide(self) -> None:
        self._hidden -= 1

    def _open_block(self, tag: str, attributes: dict[str, str]) -> None:
        gap = 2 if tag == "p" else 1
        if tag in ("ul", "ol"):
            start = attributes.get("start", "1")
            self._lists.append(_ListLevel(tag == "ol", int(start) if start.isdigit() else 1))
            gap = 1
        self._break(gap)
        self._closers.append((tag, lambda: self._close_block(tag, gap)))

    def _close_block(self, tag: str, gap: int) -> None:
        if tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        self._break(gap)

    def _open_item(self) -> None:
        self._break(1)
        level = self._lists[-1] if self._lists else _ListLevel(ordered=False)
        indent = "  " * max(len(self._lists) - 1, 0)
        if level.ordered:
            self._line_lead = f"{indent}{level.next_number}. "
            level.next_number += 1
        else:
            self._line_lead = indent + _BULLET
        self._closers.append(("li", lambda: self._break(1)))

    def _open_span(self, tag: str, marker: str, after: Callable[[], None] = lambda: None) -> None:
        if self._code_depth or marker in self._pending_spans or marker in self._open_spans:
            self._closers.append((tag, after))
            return
        self._pending_spans.append(marker)

        def close() -> None:
            self._close_span(marker)
            after()

        self._closers.append((tag, close))

    def _close_span(self, marker: str) -> None:
        if marker in self._pending_spans:
            self._pending_spans.remove(marker)
            return
        # Spans nest: whatever opened inside this one closes with it.
        while marker in self._open_spans:
            self._emit_close(self._open_spans.pop())

    def _open_code(self, tag: str) -> None:
        if self._code_depth:
            self._closers.append((tag, _nothing))
            return
        self._open_span(tag, "`", after=self._leave_code)
        self._code_depth += 1

    def _leave_code(self) -> None:
        self._code_depth -= 1

    def _inside_pre(self, tag: str, attributes: dict[str, str]) -> None:
        """Preformatted text is kept as it is; only its line breaks and language count."""
        assert self._pre is not None
        if tag == "br":
            self._pre.append("\n")
        elif tag == "code" and (language := _LANGUAGE.search(attributes.get("class", ""))):
            self._pre_language = language.group(1)

    def _open_pre(self) -> None:
        self._pre = []
        self._pre_language = ""
        self._closers.append(("pre", self._close_pre))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def _close_pre(self) -> None:
        body = "".join(self._pre or []).removeprefix("\n").removesuffix("\n")
        self._pre = None
        self._break(1)
        lines = ["```" + self._pre_language, *body.split("\n"), "```"]
        for index, line in enumerate(lines):
            if index:
                self._newline()
            self._write_raw_line(line)
        self._break(1)

    def _open_quote(self) -> None:
        self._break(1)
        self._quote_depth += 1

        def close() -> None:
            self._break(1)
            self._quote_depth -= 1

        self._closers.append(("blockquote", close))

    def _open_link(self, href: str) -> None:
        link = _Link(href)
        self._links.append(link)

        def close() -> None:
            self._links.remove(link)
            shown = "".join(link.text).strip()
            if not href or shown == href or f"mailto:{shown}" == href:
                return
            if href.startswith(MENTION_PREFIX):
                if not shown:
                    self.handle_data(href.removeprefix(MENTION_PREFIX[:-1]).split("?")[0])
                return
            self.handle_data(f" <{href}>" if shown else href)

        self._closers.append(("a", close))

    # ------------------------------------------------------------------------ output

    def _break(self, lines: int) -> None:
        """Ask for the next visible text to start *lines* lines down (at most)."""
        if self._out and not self._line_lead:
            self._pending_newlines = max(self._pending_newlines, lines)

    def _flush_newlines(self) -> None:
        while self._trailing_newlines < self._pending_newlines:
            self._newline()
        self._pending_newlines = 0

    def _newline(self) -> None:
        self._close_open_spans()
        if self._out and self._out[-1].endswith(" "):
            self._out[-1] = self._out[-1].rstrip(" ")
        if self._at_line_start and self._quote_depth:
            self._out.append(">" * self._quote_depth)
        self._out.append("\n")
        self._at_line_start = True
        self._trailing_newlines += 1

    def _line_start(self) -> None:
        self._flush_newlines()
        if self._at_line_start:
            if self._quote_depth:
                self._out.append(">" * self._quote_depth + " ")
            self._out.append(self._line_lead)
            self._line_lead = ""
            self._at_line_start = False
            self._trailing_newlines = 0

    def _write_visible(self, text: str) -> None:
        self._line_start()
        self._out.extend(self._pending_spans)
        self._open_spans.extend(self._pending_spans)
        self._pending_spans.clear()
        self._out.append(text)

    def _write_raw_line(self, line: str) -> None:
        self._line_start()
        self._out.append(line)

    def _space(self) -> None:
        if self._out and not self._out[-1].endswith(" "):
            self._out.append(" ")

    def _close_open_spans(self) -> None:
        """Close spans at a line's end; they open again before the next visible text."""
        reopen = list(self._open_spans)
        while self._open_spans:
            self._emit_close(self._open_spans.pop())
        self._pending_spans[:0] = reopen

    def _emit_close(self, marker: str) -> None:
        trailing = self._out and self._out[-1].endswith(" ")
        if trailing:
            self._out[-1] = self._out[-1].rstrip(" ")
        self._out.append(marker + (" " if trailing else ""))


def _nothing() -> None:
    """The closer of a tag that changes nothing in the text."""


def html_to_styled(html: str) -> str:
    """XEP-0393 text for a Matrix formatted body; never raises on bad HTML."""
    writer = _StyledTextWriter()
    writer.feed(html)
    return writer.text()


def strip_reply_fallback(body: str) -> str:
    """*body* without the quoted ``> <@user:server> …`` lines a reply starts with."""
    lines = body.split("\n")
    if not lines[0].startswith(">"):
        return body
    rest = 0
    while rest < len(lines) and lines[rest].startswith(">"):
        rest += 1
    if rest < len(lines) and not lines[rest]:
        rest += 1
    return "\n".join(lines[rest:])


# ----------------------------------------------------------------------------- XEP-0393 → HTML

_SPAN_HTML = {"*": "strong", "_": "em", "~": "del"}
_DIRECTIVES = "*_~`"
_FENCE = "```"


@dataclass(frozen=True, slots=True)
class MatrixText:
    """A message as Matrix carries it: plain *body*, and HTML when styling was used."""

    body: str
    formatted_body: str | None = None


def styled_to_matrix(text: str) -> MatrixText:
    """The Matrix content for XEP-0393 *text*: the body as typed, HTML only if styled."""
    html, styled = _blocks(text.split("\n"))
    return MatrixText(text, html if styled else None)


def text_to_html(text: str) -> str:
    """The HTML for XEP-0393 *text* even when nothing in it is styled (to add links to)."""
    return _blocks(text.split("\n"))[0]


def _blocks(lines: list[str]) -> tuple[str, bool]:
    """HTML for whole lines: preformatted blocks, quotes, and styled text lines."""
    parts: list[str] = []
    styled = False
    previous_was_text = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(_FENCE):
            end = next((i for i in range(index + 1, len(lines)) if lines[i] == _FENCE), len(lines))
            parts.append(_preformatted(line.removeprefix(_FENCE), lines[index + 1 : end]))
            index, styled, previous_was_text = end + 1, True, False
        elif line.startswith(">"):
            stop = next(
                (i for i in range(index, len(lines)) if not lines[i].startswith(">")), len(lines)
            )
            quoted = [quoted_line[1:].removeprefix(" ") for quoted_line in lines[index:stop]]
            parts.append(f"<blockquote>{_blocks(quoted)[0]}</blockquote>")
            index, styled, previous_was_text = stop, True, False
        else:
            html, line_styled = _spans(line)
            parts.append(("<br>" if previous_was_text else "") + html)
            index, styled, previous_was_text = index + 1, styled or line_styled, True
    return "".join(parts), styled


def _preformatted(hint: str, lines: list[str]) -> str:
    language = hint.strip()
    attribute = f' class="language-{escape(language)}"' if language.isidentifier() else ""
    return f"<pre><code{attribute}>{escape(chr(10).join(lines), quote=False)}</code></pre>"


def _spans(text: str) -> tuple[str, bool]:
    """HTML for one line: XEP-0393 spans become tags, everything else is escaped."""
    out: list[str] = []
    styled = False
    plain_from = 0
    index = 0
    while index < len(text):
        end = _span_end(text, index)
        if end is None:
            index += 1
            continue
        out.append(escape(text[plain_from:index], quote=False))
        directive, inner = text[index], text[index + 1 : end]
        if directive == "`":
            out.append(f"<code>{escape(inner, quote=False)}</code>")
        else:
            tag = _SPAN_HTML[directive]
            out.append(f"<{tag}>{_spans(inner)[0]}</{tag}>")
        styled = True
        index = plain_from = end + 1
    out.append(escape(text[plain_from:], quote=False))
    return "".join(out), styled


def _span_end(text: str, start: int) -> int | None:
    """Where the span opening at *start* closes, if a span opens there (XEP-0393 §6.2)."""
    directive = text[start]
    if directive not in _DIRECTIVES or start + 1 >= len(text) or text[start + 1].isspace():
        return None
    if start and not (text[start - 1].isspace() or text[start - 1] in _DIRECTIVES):
        return None
    for end in range(start + 2, len(text)):
        after = text[end + 1 : end + 2]
        if text[end] == directive and not text[end - 1].isspace() and not after.isalnum():
            return end
    return None
