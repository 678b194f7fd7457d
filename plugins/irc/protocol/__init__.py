"""The IRC protocol without I/O: values in, values out, testable with plain data."""

from plugins.irc.protocol.casemap import FoldedDict, fold, same
from plugins.irc.protocol.ctcp import (
    Ctcp,
    action,
    action_to_me,
    me_text,
    parse_ctcp,
    ping_reply,
    version_reply,
)
from plugins.irc.protocol.formatting import irc_to_plain, irc_to_styled, plain_to_irc
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import (
    IrcMessage,
    LineBuffer,
    MalformedLine,
    cmd,
    nick_of,
    parse_line,
)
from plugins.irc.protocol.modes import (
    ModeChange,
    NamesEntry,
    ParsedModes,
    Standing,
    format_modes,
    modes_for_affiliation,
    modes_for_role,
    parse_modes,
    parse_names,
    parse_names_entry,
    standing,
)
from plugins.irc.protocol.splitting import max_body_bytes, prefix_length, split_message

__all__ = [
    "Ctcp",
    "FoldedDict",
    "IrcMessage",
    "LineBuffer",
    "MalformedLine",
    "ModeChange",
    "NamesEntry",
    "ParsedModes",
    "ServerFeatures",
    "Standing",
    "action",
    "action_to_me",
    "cmd",
    "fold",
    "format_modes",
    "irc_to_plain",
    "irc_to_styled",
    "max_body_bytes",
    "me_text",
    "modes_for_affiliation",
    "modes_for_role",
    "nick_of",
    "parse_ctcp",
    "parse_line",
    "parse_modes",
    "parse_names",
    "parse_names_entry",
    "ping_reply",
    "plain_to_irc",
    "prefix_length",
    "same",
    "split_message",
    "standing",
    "version_reply",
]
