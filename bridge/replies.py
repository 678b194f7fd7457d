"""Stanza errors with a text a person can act on, built in one place."""

from __future__ import annotations

from typing import TypeVar

from slixmpp.stanza import Iq, Message, Presence

from bridge.errors import XmppError, error_text, xmpp_error_for

Replyable = TypeVar("Replyable", Iq, Message, Presence)


def error_reply(stanza: Replyable, error: XmppError, text: str) -> Replyable:
    """The error answer to *stanza*: same id, addresses swapped, condition and text set."""
    reply: Replyable = stanza.reply(clear=True)
    reply["from"] = stanza["to"]
    reply["to"] = stanza["from"]
    reply["id"] = stanza["id"]
    reply["type"] = "error"
    reply["error"]["type"] = error.type
    reply["error"]["condition"] = error.condition
    reply["error"]["text"] = text
    return reply


def failure_reply(stanza: Replyable, failure: BaseException) -> Replyable:
    """The error answer to *stanza* for a plugin or core exception, through the one table."""
    return error_reply(stanza, xmpp_error_for(failure), error_text(failure))
