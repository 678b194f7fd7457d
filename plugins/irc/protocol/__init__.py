"""The IRC protocol without I/O: values in, values out, testable with plain data."""

from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import (
    IrcMessage,
    LineBuffer,
    MalformedLine,
    cmd,
    nick_of,
    parse_line,
)

__all__ = [
    "IrcMessage",
    "LineBuffer",
    "MalformedLine",
    "ServerFeatures",
    "cmd",
    "nick_of",
    "parse_line",
]
