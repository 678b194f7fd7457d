"""XEP-0356 privileges: contacts and rooms straight into the user's own client.

A server that trusts the gateway (mod_privilege) says so in a <privilege/> message right
after the component connects. With roster write access the gateway puts contacts into the
user's roster without a subscription dialog; with IQ access to pubsub it publishes rooms into
the user's XEP-0402 bookmarks, so every client of the user shows (and may autojoin) them.
Without those grants it does what any component may: ask for a presence subscription, send
a XEP-0249 invitation. Every call returns which way it went.
"""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from slixmpp import JID, ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.jid import InvalidJID
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

log = logging.getLogger(__name__)

NS_PRIVILEGE = "urn:xmpp:privilege:2"
NS_FORWARD = "urn:xmpp:forward:0"
NS_ROSTER = "jabber:iq:roster"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
NS_CONFERENCE = "jabber:x:conference"
NS_DATA = "jabber:x:data"
NS_NICK = "http://jabber.org/protocol/nick"
NS_CLIENT = "jabber:client"
PUBLISH_OPTIONS_FORM = "http://jabber.org/protocol/pubsub#publish-options"

# XEP-0402 §3: bookmarks are private, kept, and as many as the user has.
BOOKMARK_NODE_OPTIONS = (
    ("pubsub#persist_items", "true"),
    ("pubsub#max_items", "max"),
    ("pubsub#send_last_published_item", "never"),
    ("pubsub#access_model", "whitelist"),
)
_ACCESS_TYPES = {
    "roster": ("none", "get", "set", "both"),
    "message": ("none", "outgoing"),
    "presence": ("none", "managed_entity", "roster"),
}
_IQ_TYPES = ("get", "set", "both")
REQUEST_TIMEOUT = 10.0


class PrivilegeError(ValueError):
    """A <privilege/> advertisement the gateway cannot read."""


class Via(Enum):
    """How a contact or bookmark reached (or left) the user's client."""

    ROSTER = "roster"
    """The server wrote the user's roster (XEP-0356 roster access)."""
    BOOKMARKS = "bookmarks"
    """Published in, or retracted from, the user's XEP-0402 bookmarks (privileged IQ)."""
    SUBSCRIPTION = "subscription"
    """A presence subscription asked (or ended) from the contact's JID; the user decides."""
    INVITATION = "invitation"
    """A XEP-0249 invitation sent; the user's client offers to join."""
    NOTHING = "nothing"
    """Nothing can be done without privileges (a bookmark cannot be taken back)."""


@dataclass(frozen=True, slots=True)
class Grants:
    """What one server allows the gateway for its users (XEP-0356 §4 to §7)."""

    roster: str = "none"
    message: str = "none"
    presence: str = "none"
    iq: frozenset[tuple[str, str]] = frozenset()
    """(namespace, get|set|both) pairs the gateway may send on the users' behalf."""

    def writes_roster(self) -> bool:
        return self.roster in ("set", "both")

    def allows_iq(self, namespace: str, kind: str) -> bool:
        return (namespace, kind) in self.iq or (namespace, "both") in self.iq


NO_GRANTS = Grants()


@dataclass(frozen=True, slots=True)
class RosterItem:
    jid: str
    name: str | None = None
    groups: tuple[str, ...] = ()
    subscription: str = "both"
    """'both' for a contact the gateway answers for; 'remove' takes the item out."""


@dataclass(frozen=True, slots=True)
class Bookmark:
    room_jid: str
    name: str | None = None
    nick: str | None = None
    autojoin: bool = False


# ---------------------------------------------------------------------- advertisements


def parse_advertisement(privilege: ET.Element) -> Grants:
    """The grants in a <privilege xmlns='urn:xmpp:privilege:2'/> element.

    Accesses this gateway does not know (a later version of the XEP) are ignored; a known
    access with a value outside the XEP is an error that names it.
    """
    if privilege.tag != f"{{{NS_PRIVILEGE}}}privilege":
        raise PrivilegeError(f"expected <privilege xmlns='{NS_PRIVILEGE}'/>, got {privilege.tag}")
    values: dict[str, str] = {}
    iq: set[tuple[str, str]] = set()
    for perm in privilege.iterfind(f"{{{NS_PRIVILEGE}}}perm"):
        access = perm.get("access", "")
        if access == "iq":
            iq |= _iq_grants(perm)
        elif access in _ACCESS_TYPES:
            values[access] = _checked(f"<perm access='{access}'>", perm, _ACCESS_TYPES[access])
    return Grants(
        roster=values.get("roster", "none"),
        message=values.get("message", "none"),
        presence=values.get("presence", "none"),
        iq=frozenset(iq),
    )


def _iq_grants(perm: ET.Element) -> set[tuple[str, str]]:
    grants = set()
    for namespace in perm.iterfind(f"{{{NS_PRIVILEGE}}}namespace"):
        ns = namespace.get("ns")
        if not ns:
            raise PrivilegeError("<perm access='iq'> has a <namespace/> without its 'ns'")
        grants.add((ns, _checked(f"<namespace ns='{ns}'>", namespace, _IQ_TYPES)))
    return grants


def _checked(what: str, element: ET.Element, allowed: tuple[str, ...]) -> str:
    value = element.get("type", "")
    if value not in allowed:
        raise PrivilegeError(f"{what} has type {value!r}; expected one of {', '.join(allowed)}")
    return value


# ---------------------------------------------------------------------- payloads


def roster_query(item: RosterItem) -> ET.Element:
    """A roster set's <query/> with one item (RFC 6121 §2.3, §2.5)."""
    query = ET.Element(f"{{{NS_ROSTER}}}query")
    attributes = {"jid": item.jid, "subscription": item.subscription}
    if item.name:
        attributes["name"] = item.name
    entry = ET.SubElement(query, f"{{{NS_ROSTER}}}item", attributes)
    for group in item.groups:
        ET.SubElement(entry, f"{{{NS_ROSTER}}}group").text = group
    return query


def bookmark_publish(bookmark: Bookmark) -> ET.Element:
    """A XEP-0402 publish: item id = room JID, with the node options the XEP requires."""
    pubsub = ET.Element(f"{{{NS_PUBSUB}}}pubsub")
    publish = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish", node=NS_BOOKMARKS)
    item = ET.SubElement(publish, f"{{{NS_PUBSUB}}}item", id=bookmark.room_jid)
    conference = ET.SubElement(
        item, f"{{{NS_BOOKMARKS}}}conference", autojoin="true" if bookmark.autojoin else "false"
    )
    if bookmark.name:
        conference.set("name", bookmark.name)
    if bookmark.nick:
        ET.SubElement(conference, f"{{{NS_BOOKMARKS}}}nick").text = bookmark.nick
    options = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish-options")
    form = ET.SubElement(options, f"{{{NS_DATA}}}x", type="submit")
    fields = (("FORM_TYPE", PUBLISH_OPTIONS_FORM), *BOOKMARK_NODE_OPTIONS)
    for var, value in fields:
        field = ET.SubElement(form, f"{{{NS_DATA}}}field", var=var)
        if var == "FORM_TYPE":
            field.set("type", "hidden")
        ET.SubElement(field, f"{{{NS_DATA}}}value").text = value
    return pubsub


def bookmark_retract(room_jid: str) -> ET.Element:
    pubsub = ET.Element(f"{{{NS_PUBSUB}}}pubsub")
    retract = ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}retract", node=NS_BOOKMARKS, notify="true")
    ET.SubElement(retract, f"{{{NS_PUBSUB}}}item", id=room_jid)
    return pubsub


def privileged_iq(user: str, kind: str, payload: ET.Element) -> ET.Element:
    """XEP-0356 §7: *payload* in an iq from the user to their own account, for the server
    to run as if the user had sent it."""
    wrapper = ET.Element(f"{{{NS_PRIVILEGE}}}privileged_iq")
    inner = ET.SubElement(
        wrapper,
        f"{{{NS_CLIENT}}}iq",
        {"type": kind, "from": user, "to": user, "id": uuid.uuid4().hex},
    )
    inner.append(payload)
    return wrapper


def forwarded_failure(reply: ET.Element) -> str | None:
    """The error condition of the user's own iq forwarded back in a privileged reply."""
    inner = reply.find(f"{{{NS_PRIVILEGE}}}privilege/{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}iq")
    if inner is None or inner.get("type") != "error":
        return None
    error = inner.find(f"{{{NS_CLIENT}}}error")
    condition = next(iter(error), None) if error is not None else None
    return _local_name(condition.tag) if condition is not None else "error"


# ---------------------------------------------------------------------- fallbacks


def invitation(gateway: str, user: str, bookmark: Bookmark) -> Message:
    """XEP-0249 direct invitation, with a body for clients that do not know it."""
    message = Message()
    message["from"], message["to"] = gateway, user
    message["body"] = f"Join {bookmark.name or bookmark.room_jid}: xmpp:{bookmark.room_jid}?join"
    ET.SubElement(message.xml, f"{{{NS_CONFERENCE}}}x", jid=bookmark.room_jid)
    return message


def subscription(user: str, contact: str, kind: str, name: str | None = None) -> Presence:
    """A subscription presence from *contact*; a request carries its name (XEP-0172)."""
    presence = Presence()
    presence["from"], presence["to"], presence["type"] = contact, user, kind
    if name and kind == "subscribe":
        ET.SubElement(presence.xml, f"{{{NS_NICK}}}nick").text = name
    return presence


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _bare(jid: str, what: str) -> str:
    try:
        parsed = JID(jid)
    except InvalidJID as error:
        raise ValueError(f"{what} {jid!r} is not a valid JID: {error}") from None
    if parsed.resource or not parsed.domain:
        raise ValueError(f"{what} {jid!r} must be a bare JID such as room@gateway.example")
    return str(parsed.bare)


# ---------------------------------------------------------------------- the service


class Privileges:
    """What each server granted, and the contact and bookmark verbs that use it."""

    def __init__(
        self,
        *,
        xmpp: ComponentXMPP,
        gateway_jid: str,
        send: Callable[[StanzaBase], None],
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._xmpp = xmpp
        self._jid = gateway_jid
        self._send = send
        self._timeout = timeout
        self._grants: dict[str, Grants] = {}

    def register(self) -> None:
        """Listen for advertisements; a lost link forgets them (the server sends them again)."""
        matcher = MatchXPath(f"{{{self._xmpp.default_ns}}}message/{{{NS_PRIVILEGE}}}privilege")
        self._xmpp.register_handler(
            Callback("bridge privilege advertisement", matcher, self.on_advertisement)
        )
        self._xmpp.add_event_handler("disconnected", self._forget)

    def granted(self, user_or_domain: str) -> Grants:
        """The grants of the server that hosts *user_or_domain*."""
        return self._grants.get(JID(user_or_domain).domain, NO_GRANTS)

    def writes_bookmarks(self, user: str) -> bool:
        return self.granted(user).allows_iq(NS_PUBSUB, "set")

    def on_advertisement(self, message: StanzaBase) -> None:
        sender = message["from"]
        if sender.user or sender.resource or not sender.domain or sender.domain == self._jid:
            log.warning("privilege advertisement from %s ignored: not a server", sender)
            return
        element = message.xml.find(f"{{{NS_PRIVILEGE}}}privilege")
        assert element is not None  # the matcher found it
        try:
            grants = parse_advertisement(element)
        except PrivilegeError as error:
            log.warning("privilege advertisement from %s ignored: %s", sender, error)
            return
        self._grants[sender.domain] = grants
        log.info(
            "server %s grants %s: roster %s, message %s, presence %s, iq %s",
            sender.domain,
            self._jid,
            grants.roster,
            grants.message,
            grants.presence,
            ", ".join(f"{ns} {kind}" for ns, kind in sorted(grants.iq)) or "none",
        )

    def _forget(self, _: Any) -> None:
        self._grants.clear()

    # ------------------------------------------------------------------ contacts

    async def add_contact(
        self, user: str, jid: str, name: str | None = None, groups: Iterable[str] = ()
    ) -> Via:
        item = RosterItem(_bare(jid, "contact JID"), name, tuple(groups))
        if await self._roster_set(user, item):
            return Via.ROSTER
        self._send(subscription(user, item.jid, "subscribe", name))
        return Via.SUBSCRIPTION

    async def remove_contact(self, user: str, jid: str) -> Via:
        contact = _bare(jid, "contact JID")
        if await self._roster_set(user, RosterItem(contact, subscription="remove")):
            return Via.ROSTER
        for kind in ("unsubscribe", "unsubscribed"):
            self._send(subscription(user, contact, kind))
        return Via.SUBSCRIPTION

    async def _roster_set(self, user: str, item: RosterItem) -> bool:
        if not self.granted(user).writes_roster():
            return False
        return await self._request(user, "set", roster_query(item))

    # ------------------------------------------------------------------ bookmarks

    async def add_bookmark(
        self,
        user: str,
        room_jid: str,
        name: str | None = None,
        nick: str | None = None,
        autojoin: bool = False,
    ) -> Via:
        bookmark = Bookmark(_bare(room_jid, "room JID"), name, nick, autojoin)
        if await self._privileged(user, "set", bookmark_publish(bookmark)):
            return Via.BOOKMARKS
        self._send(invitation(self._jid, user, bookmark))
        return Via.INVITATION

    async def remove_bookmark(self, user: str, room_jid: str) -> Via:
        retract = bookmark_retract(_bare(room_jid, "room JID"))
        return Via.BOOKMARKS if await self._privileged(user, "set", retract) else Via.NOTHING

    async def _privileged(self, user: str, kind: str, payload: ET.Element) -> bool:
        namespace = payload.tag[1:].partition("}")[0]
        if not self.granted(user).allows_iq(namespace, kind):
            return False
        return await self._request(user, kind, privileged_iq(user, kind, payload))

    # ------------------------------------------------------------------ requests

    async def _request(self, user: str, kind: str, payload: ET.Element) -> bool:
        """Send an iq to the user's account; a refusal or silence means "use the fallback"."""
        iq: Iq = self._xmpp.Iq()
        iq["from"], iq["to"], iq["type"] = self._jid, user, kind
        iq.xml.append(payload)
        what = _local_name(payload.tag)
        try:
            reply = await iq.send(timeout=self._timeout)
        except IqError as error:
            condition, text = error.iq["error"]["condition"], error.iq["error"]["text"]
            log.info("server refused %s for %s: %s %s", what, user, condition, text)
            return False
        except IqTimeout:
            log.info("no answer to %s for %s within %g s", what, user, self._timeout)
            return False
        failure = forwarded_failure(reply.xml)
        if failure is not None:
            log.info("%s for %s failed on the user's account: %s", what, user, failure)
        return failure is None
