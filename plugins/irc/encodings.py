"""Per-channel encodings (Biboumi's channel `configure`): old channels that are not in UTF-8.

A line that is valid UTF-8 is always read as UTF-8. Any other line to a channel with its
own incoming encoding is decoded again with it (the transport decoded it with the
server's, or latin-1); lines the user sends to such a channel leave in its outgoing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugins.irc.protocol.casemap import fold
from plugins.irc.protocol.message import IrcMessage, redecode

CHANNEL_PARAM = {"PRIVMSG": 0, "NOTICE": 0, "TOPIC": 0, "PART": 0, "KICK": 0, "332": 1}
"""Commands whose text belongs to a channel, and where the channel is among the parameters."""
STATUS_PREFIXES = "~&@%+"
"""STATUSMSG prefixes (``@#chan``, to its operators) in front of a channel name."""


@dataclass(frozen=True, slots=True)
class ChannelEncoding:
    incoming: str = ""
    outgoing: str = ""


class ChannelEncodings:
    """The encodings of one connection's channels, by channel name."""

    def __init__(self) -> None:
        self._channels: dict[str, ChannelEncoding] = {}

    def use(self, channel: str, encoding: ChannelEncoding) -> None:
        key = fold(channel, "rfc1459")
        if encoding.incoming or encoding.outgoing:
            self._channels[key] = encoding
        else:
            self._channels.pop(key, None)

    def decode(self, message: IrcMessage) -> IrcMessage:
        """*message* as its channel's encoding reads it, when it was not UTF-8."""
        if message.undecoded is None:
            return message
        encoding = self._of(message)
        return redecode(message, encoding.incoming) if encoding and encoding.incoming else message

    def encoding_out(self, message: IrcMessage) -> str | None:
        """The encoding *message* must leave in, when its channel has one."""
        encoding = self._of(message)
        return encoding.outgoing or None if encoding else None

    def _of(self, message: IrcMessage) -> ChannelEncoding | None:
        index = CHANNEL_PARAM.get(message.command)
        if index is None or not self._channels:
            return None
        target = message.param(index)
        for name in (target, target.lstrip(STATUS_PREFIXES)):
            found = self._channels.get(fold(name, "rfc1459"))
            if found is not None:
                return found
        return None
