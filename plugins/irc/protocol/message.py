"""IRC lines as values: parsing, serialising, and cutting a byte stream into lines.

Servers are not trusted: a line may be huge, carry NULs or stray CRs, be in a legacy
encoding, or have broken tags. Parsing never raises anything but :class:`MalformedLine`,
so the connection layer can log one bad line and carry on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# IRCv3 message-tags: the tag section may take 8191 bytes (with '@' and the space after it).
MAX_TAGS_BYTES = 8191
# RFC 1459: 512 bytes with the CRLF; servers may announce more with ISUPPORT LINELEN.
DEFAULT_LINELEN = 512
# Bytes kept for an unterminated line before it is given up as hostile.
MAX_PARTIAL_BYTES = 16 * 1024

_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_TAG_ESCAPES = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})
_FORBIDDEN_IN_LINE = ("\r", "\n", "\0")
# Removed from received lines: they cannot be relayed, and a stray one must not split a line.
_DELETE_FORBIDDEN = str.maketrans(dict.fromkeys(_FORBIDDEN_IN_LINE))


class MalformedLine(ValueError):
    """A line from the server that cannot be understood as an IRC message."""


@dataclass(frozen=True, slots=True)
class IrcMessage:
    """One IRC message; ``command`` is upper case, numerics stay 3-digit strings."""

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    undecoded: bytes | None = field(default=None, compare=False, repr=False)
    """The received line's bytes when they were not UTF-8 and the fallback encoding decoded
    them: a channel with an encoding of its own decodes them again (:func:`redecode`)."""

    def __post_init__(self) -> None:
        # A read-only copy, so a message really is a value however it was built.
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))

    def param(self, index: int, default: str = "") -> str:
        """Parameter ``index``, or ``default`` when a (hostile) server left it out."""
        return self.params[index] if -len(self.params) <= index < len(self.params) else default

    def to_line(self, encoding: str = "utf-8") -> bytes:
        """The wire form with CRLF; characters the encoding lacks become ``?``."""
        parts: list[str] = []
        if self.tags:
            parts.append("@" + ";".join(_format_tag(k, v) for k, v in self.tags.items()))
        if self.source is not None:
            _check_word("source", self.source)
            parts.append(":" + self.source)
        _check_word("command", self.command)
        parts.append(self.command)
        for index, param in enumerate(self.params):
            _check_text(f"parameter {index + 1}", param)
            if index == len(self.params) - 1 and _needs_trailing(param):
                parts.append(":" + param)
            elif _needs_trailing(param):
                raise ValueError(
                    f"parameter {index + 1} of {self.command} is empty, has a space or starts"
                    f" with ':', which only the last parameter may: {param!r}"
                )
            else:
                parts.append(param)
        return (" ".join(parts) + "\r\n").encode(encoding, errors="replace")


def cmd(command: str, *params: str, tags: Mapping[str, str] | None = None) -> IrcMessage:
    """A message to send: ``cmd("PRIVMSG", "#chan", "hello")``."""
    return IrcMessage(command=command.upper(), params=params, tags=tags or {})


def nick_of(source: str | None) -> str:
    """The nick in a ``nick!user@host`` source (a server name stays whole)."""
    if not source:
        return ""
    return source.split("!", 1)[0].split("@", 1)[0]


def parse_line(
    raw: bytes, fallback_encoding: str = "latin-1", *, linelen: int = DEFAULT_LINELEN
) -> IrcMessage:
    """Parse one line (with or without its line ending) received from a server.

    ``linelen`` is the server's announced line length; the CRLF is not counted against it,
    out of tolerance for servers that forget it in their own arithmetic.
    """
    raw = raw.rstrip(b"\r\n")
    body_start = raw.find(b" ") + 1 if raw.startswith(b"@") else 0
    if body_start > MAX_TAGS_BYTES:
        raise MalformedLine(f"tags too long: {body_start} bytes, at most {MAX_TAGS_BYTES}")
    if len(raw) - body_start > linelen:
        raise MalformedLine(f"line too long: {len(raw) - body_start} bytes, at most {linelen}")
    text, undecoded = _decode(raw, fallback_encoding)
    text = text.translate(_DELETE_FORBIDDEN)
    rest = text.lstrip(" ")
    if not rest:
        raise MalformedLine("empty line")
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        tag_text, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(tag_text)
        rest = rest.lstrip(" ")
    source = None
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        if not source:
            raise MalformedLine(f"empty source in {text!r}")
        rest = rest.lstrip(" ")
    command, _, rest = rest.partition(" ")
    if not command:
        raise MalformedLine(f"no command in {text!r}")
    if not (command.isascii() and (command.isalpha() or (command.isdigit() and len(command) == 3))):
        raise MalformedLine(f"invalid command {command!r}")
    return IrcMessage(command.upper(), _parse_params(rest), source, tags, undecoded)


def redecode(message: IrcMessage, encoding: str) -> IrcMessage:
    """*message* decoded with *encoding* instead of the fallback, if it was not UTF-8."""
    if message.undecoded is None:
        return message
    try:
        return parse_line(message.undecoded, encoding, linelen=len(message.undecoded))
    except MalformedLine:
        return message


def _decode(raw: bytes, fallback_encoding: str) -> tuple[str, bytes | None]:
    """The text, and the raw bytes when they were not UTF-8."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        # The fallback is meant to be a single-byte encoding; "replace" keeps the line anyway.
        return raw.decode(fallback_encoding, errors="replace"), raw


def _parse_tags(text: str) -> dict[str, str]:
    """Tags are optional metadata: a broken one is dropped, never the whole line."""
    tags: dict[str, str] = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")
        if key:
            tags[key] = _unescape_tag_value(value)
    return tags


def _unescape_tag_value(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")  # a lone trailing backslash is dropped, as specified
            out.append(_TAG_UNESCAPES.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


def _parse_params(text: str) -> tuple[str, ...]:
    params: list[str] = []
    while text:
        text = text.lstrip(" ")
        if text.startswith(":"):
            params.append(text[1:])
            break
        param, _, text = text.partition(" ")
        if param:
            params.append(param)
    return tuple(params)


def _format_tag(key: str, value: str) -> str:
    _check_word("tag name", key)
    if "=" in key or ";" in key:
        raise ValueError(f"tag name may not contain '=' or ';': {key!r}")
    if "\0" in value:
        raise ValueError(f"value of tag {key} contains NUL: {value!r}")
    return f"{key}={value.translate(_TAG_ESCAPES)}" if value else key


def _needs_trailing(param: str) -> bool:
    return not param or " " in param or param.startswith(":")


def _check_text(what: str, text: str) -> None:
    if any(char in text for char in _FORBIDDEN_IN_LINE):
        raise ValueError(f"{what} contains CR, LF or NUL, which would break the line: {text!r}")


def _check_word(what: str, text: str) -> None:
    _check_text(what, text)
    if not text or " " in text:
        raise ValueError(f"{what} must be a non-empty word without spaces: {text!r}")


class LineBuffer:
    """Cuts received bytes into complete lines, bounded against endless lines.

    Bytes are kept, not text: a read may end inside a UTF-8 character, and decoding is
    per line. A line longer than ``max_line_bytes`` is dropped whole (including the rest
    of it that arrives later) and counted in ``cut_lines``.
    """

    def __init__(self, max_line_bytes: int = MAX_PARTIAL_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.cut_lines = 0
        self._partial = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        """Complete, non-empty lines received so far, without their CR/LF."""
        lines: list[bytes] = []
        pieces = data.split(b"\n")
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            if self._discarding:
                # This piece is the end of a line already cut; the next one starts afresh.
                self._discarding = index == last
                continue
            self._partial += piece
            if index == last:
                if len(self._partial) > self.max_line_bytes:
                    self._cut()
                    self._discarding = True
                continue
            line = bytes(self._partial).rstrip(b"\r")
            self._partial.clear()
            if len(line) > self.max_line_bytes:
                self._cut()
            elif line:
                lines.append(line)
        return lines

    def _cut(self) -> None:
        self._partial.clear()
        self.cut_lines += 1
