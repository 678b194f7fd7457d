"""Builders of the exact XEP-0045 stanzas the gateway sends; pure functions of their inputs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar
from xml.etree import ElementTree as ET

from slixmpp.plugins.xep_0045 import stanza as muc_stanza
from slixmpp.plugins.xep_0199.stanza import Ping
from slixmpp.plugins.xep_0203.stanza import Delay
from slixmpp.plugins.xep_0359 import stanza as sid_stanza
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import register_stanza_plugin

from bridge.errors import XmppError
from bridge.events import Occupant

muc_stanza.register_plugins()
sid_stanza.register_plugins()
register_stanza_plugin(Message, Delay)
register_stanza_plugin(Iq, Ping)

NS_MUC = muc_stanza.NS
NS_MUC_ADMIN = muc_stanza.NS_ADMIN
NS_SID = sid_stanza.NS
_CLIENT = "jabber:client"

# C0 controls other than tab and newline: a client shows them raw or chokes on them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

S = TypeVar("S", Presence, Message, Iq)


class Status:
    """XEP-0045 status codes the gateway uses."""

    NON_ANONYMOUS = 100
    SELF = 110
    NICK_ASSIGNED = 210
    SHUTDOWN = 332
    NETWORK_LOSS = 333
    NEW_NICK = 303
    KICKED = 307


def clean_text(text: str) -> str:
    """*text* without control characters (newline and tab stay)."""
    return _CONTROL.sub("", text)


def _addressed(stanza: S, origin: str, to: str) -> S:
    stanza["from"] = origin
    stanza["to"] = to
    return stanza


def occupant_presence(
    *,
    origin: str,
    to: str,
    occupant: Occupant,
    real_jid: str | None,
    codes: Iterable[int] = (),
    leaving: bool = False,
    new_nick: str | None = None,
    actor: str | None = None,
    reason: str = "",
) -> Presence:
    """An occupant's presence from ``room/nick`` with its muc#user item and status codes."""
    presence = _addressed(Presence(stream=None), origin, to)
    if leaving:
        presence["type"] = "unavailable"
    x = presence["muc"]
    x["affiliation"] = occupant.affiliation.value
    x["role"] = "none" if leaving else occupant.role.value
    if real_jid:
        x["jid"] = real_jid
    if new_nick:
        x["item_nick"] = new_nick
    if actor:
        x["item"]["actor"]["nick"] = actor
    if reason:
        x["item"]["reason"] = clean_text(reason)
        presence["status"] = clean_text(reason)
    for code in codes:
        status = muc_stanza.MUCStatus()
        status["code"] = code
        x.append(status)
    return presence


def room_message(
    *,
    origin: str,
    to: str,
    body: str,
    message_id: str,
    stanza_id: str,
    room_jid: str,
    when: datetime | None = None,
    origin_id: str | None = None,
) -> Message:
    """A groupchat message with its XEP-0359 stanza-id (and XEP-0203 delay when late).

    Built on the XML directly: one is built for every resource of every user in the room,
    and slixmpp's item interface cost six times as much for the same elements.
    """
    attributes = {"from": origin, "to": to, "type": "groupchat", "id": message_id}
    xml = ET.Element(f"{{{_CLIENT}}}message", {k: v for k, v in attributes.items() if v})
    text = clean_text(body)
    if text:
        ET.SubElement(xml, f"{{{_CLIENT}}}body").text = text
    ids = {"id": stanza_id, "by": room_jid} if stanza_id else {"by": room_jid}
    ET.SubElement(xml, f"{{{NS_SID}}}stanza-id", ids)
    if origin_id:
        ET.SubElement(xml, f"{{{NS_SID}}}origin-id", {"id": origin_id})
    message = Message(stream=None, xml=xml)  # which finds the stanza-id and origin-id
    if when is not None:
        message["delay"]["from"] = room_jid
        message["delay"]["stamp"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    return message


def subject_message(*, origin: str, to: str, subject: str) -> Message:
    """The subject, sent last on join and on every change; an empty <subject/> when none."""
    message = _addressed(Message(stream=None), origin, to)
    message["type"] = "groupchat"
    message["subject"] = clean_text(subject)
    if message.xml.find("{jabber:client}subject") is None:
        ET.SubElement(message.xml, "{jabber:client}subject")
    return message


def error_stanza(
    kind: type[Presence | Message | Iq],
    *,
    origin: str,
    to: str,
    stanza_id: str | None,
    error: XmppError,
    text: str,
) -> Presence | Message | Iq:
    """A stanza of type error, answering the stanza *stanza_id*."""
    stanza: Presence | Message | Iq = kind(stream=None)
    stanza["from"] = origin
    stanza["to"] = to
    stanza["type"] = "error"
    if stanza_id:
        stanza["id"] = stanza_id
    stanza["error"]["type"] = error.type
    stanza["error"]["condition"] = error.condition
    stanza["error"]["text"] = text
    if kind is Presence:
        ET.SubElement(stanza.xml, f"{{{NS_MUC}}}x")
    return stanza


def iq_result(
    *, origin: str, to: str, iq_id: str, items: Iterable[tuple[Occupant, str | None]] | None = None
) -> Iq:
    """An empty result, or a muc#admin query listing *items* (occupant, real JID)."""
    iq = _addressed(Iq(stream=None), origin, to)
    iq["type"] = "result"
    iq["id"] = iq_id
    if items is not None:
        query = iq["mucadmin_query"]
        for occupant, real_jid in items:
            item = muc_stanza.MUCAdminItem()
            item["nick"] = occupant.nick
            item["role"] = occupant.role.value
            item["affiliation"] = occupant.affiliation.value
            if real_jid:
                item["jid"] = real_jid
            query.append(item)
    return iq
