"""Readers of what a client sends to a room: join options, message ids, admin items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from slixmpp.plugins import xep_0082
from slixmpp.stanza import Iq, Message, Presence

from bridge.errors import BadRequest
from bridge.events import Affiliation, Role
from bridge.muc.stanzas import NS_MUC, NS_MUC_ADMIN
from bridge.muc.state import HistoryRequest

_ACTION_PREFIX = "/me "

E = TypeVar("E", Role, Affiliation)


@dataclass(frozen=True, slots=True)
class JoinOptions:
    """What a join presence carries besides the nick."""

    is_join: bool
    password: str | None
    history: HistoryRequest


@dataclass(frozen=True, slots=True)
class AdminItem:
    """One <item/> of a muc#admin query."""

    nick: str | None
    jid: str | None
    role: Role | None
    affiliation: Affiliation | None
    reason: str


def join_options(presence: Presence) -> JoinOptions:
    """The <x xmlns=muc/> of a join: password and history limits (absent when not a join)."""
    x = presence.xml.find(f"{{{NS_MUC}}}x")
    if x is None:
        return JoinOptions(False, None, HistoryRequest())
    password = x.findtext(f"{{{NS_MUC}}}password")
    history = x.find(f"{{{NS_MUC}}}history")
    if history is None:
        return JoinOptions(True, password, HistoryRequest())
    return JoinOptions(
        True,
        password,
        HistoryRequest(
            max_stanzas=_count(history.get("maxstanzas")),
            max_chars=_count(history.get("maxchars")),
            seconds=_count(history.get("seconds")),
            since=_stamp(history.get("since")),
        ),
    )


def _count(value: str | None) -> int | None:
    """A non-negative integer attribute; a malformed one counts as absent."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _stamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed: datetime = xep_0082.parse(value)
    except ValueError:
        return None
    return parsed


def client_message_id(message: Message) -> str | None:
    """The id the client will recognise in the reflection: origin-id first, else the id."""
    origin_id = message.xml.find("{urn:xmpp:sid:0}origin-id")
    if origin_id is not None and origin_id.get("id"):
        return origin_id.get("id")
    return message["id"] or None


def subject_of(message: Message) -> str | None:
    """The subject a message sets, or None when it sets none."""
    element = message.xml.find(f"{{{message.namespace}}}subject")
    return None if element is None else element.text or ""


def split_action(body: str) -> tuple[str, bool]:
    """``/me waves`` is the action ``waves``."""
    if body.startswith(_ACTION_PREFIX):
        return body[len(_ACTION_PREFIX) :], True
    return body, False


def admin_items(iq: Iq) -> list[AdminItem]:
    """The items of a muc#admin query; an unknown role or affiliation is a BadRequest."""
    query = iq.xml.find(f"{{{NS_MUC_ADMIN}}}query")
    if query is None:
        raise BadRequest("The muc#admin query is missing.")
    return [
        AdminItem(
            nick=item.get("nick"),
            jid=item.get("jid"),
            role=_enum(Role, item.get("role"), "role"),
            affiliation=_enum(Affiliation, item.get("affiliation"), "affiliation"),
            reason=item.findtext(f"{{{NS_MUC_ADMIN}}}reason") or "",
        )
        for item in query.findall(f"{{{NS_MUC_ADMIN}}}item")
    ]


def _enum(kind: type[E], value: str | None, what: str) -> E | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise BadRequest(f"'{value}' is not a {what}; use one of: {allowed}.") from None
