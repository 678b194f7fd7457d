"""What the user asks to send, checked before it reaches the server: nicks, names, lines.

Each check raises a bridge.errors exception whose text says what is wrong, so a bad
nick or channel name is refused with a reason rather than sent and rejected later.
"""

from __future__ import annotations

from bridge.errors import BadRequest, NoSuchRoom
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, MalformedLine, parse_line

# Characters no nick may hold (RFC 2812, and what servers agree on), or start with.
_NOT_IN_NICK = frozenset(" ,*?!@.:\t\r\n\0\x07")
_NOT_FIRST_IN_NICK = frozenset("0123456789-")
NOT_IN_CHANNEL = frozenset(" ,\x07\t\r\n\0")


def valid_nick(nick: str) -> bool:
    return (
        bool(nick)
        and nick[0] not in _NOT_FIRST_IN_NICK
        and not any(char in _NOT_IN_NICK for char in nick)
    )


def one_line(text: str) -> str:
    """Text for a single IRC parameter: line breaks become spaces."""
    return " ".join(text.splitlines()).strip()


def check_channel_name(channel: str, features: ServerFeatures, server: str) -> None:
    if not features.is_channel(channel):
        raise NoSuchRoom(
            f"{channel} is not a channel on {server}: channel names start with"
            f" {' or '.join(features.chantypes)}"
        )
    if len(channel) < 2 or any(char in NOT_IN_CHANNEL for char in channel):
        raise BadRequest(f"{channel!r} is not a valid channel name: no spaces or commas")


def raw_lines(body: str, fallback_encoding: str) -> list[IrcMessage]:
    """What the user typed to the server's JID: one IRC line per line, sent as it is."""
    lines: list[IrcMessage] = []
    for text in body.splitlines():
        if not text.strip():
            continue
        try:
            parsed = parse_line(text.encode(), fallback_encoding)
        except MalformedLine as error:
            raise BadRequest(f"not an IRC line: {text!r} ({error})") from None
        lines.append(IrcMessage(parsed.command, parsed.params, tags=parsed.tags))
    return lines
