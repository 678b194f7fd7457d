"""Stanzas in: find where each points, check the operator's limits, hand it to its service.

Nothing that arrives may take the process down: every handler runs behind
:func:`guarded`, which logs a bug and answers internal-server-error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from slixmpp.plugins.xep_0092.stanza import Version
from slixmpp.plugins.xep_0199.stanza import Ping
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher.base import MatcherBase

from bridge import __version__
from bridge.addressing import AddressError, RoomAddress
from bridge.errors import LegacyError, NotSupported, XmppError
from bridge.invitations import Invitations, direct_invitation, mediated_invitations
from bridge.policy import RateLimiter
from bridge.presence import resource_presence
from bridge.replies import Replyable, error_reply, failure_reply
from bridge.room_avatars import NS_VCARD
from bridge.routing import ContactPlace, GatewayPlace, Place, RoomPlace, ServerPlace

if TYPE_CHECKING:
    from bridge.gateway import Gateway

log = logging.getLogger(__name__)

register_stanza_plugin(Iq, Ping)
register_stanza_plugin(Iq, Version)

NS_REGISTER = "jabber:iq:register"
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_MAM = "urn:xmpp:mam:2"
STANZA_NAMES = ("iq", "message", "presence")
SLIXMPP_MESSAGE_HANDLERS = ("IM", "IMError")
INTERNAL_ERROR_TEXT = "The gateway failed to handle this; the operator's log has the details."


class StanzaRouter:
    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway
        self._send = gateway.link.send
        self.rate = RateLimiter(gateway.config.limits.messages_per_minute)
        self.invitations = Invitations(
            domain=gateway.domain,
            network=gateway.network.name,
            locate=gateway.locate,
            in_room=gateway.muc.resources_in,
            sessions=gateway.sessions,
            send=self._send,
        )
        self._iq_routes: dict[str, Callable[[Iq], Awaitable[None]]] = {
            "{http://jabber.org/protocol/disco#info}query": self._on_disco_info,
            "{http://jabber.org/protocol/disco#items}query": self._on_disco_items,
            f"{{{NS_REGISTER}}}query": self._on_register,
            "{urn:xmpp:ping}ping": self._on_ping,
            "{jabber:iq:version}query": self._on_version,
            f"{{{NS_MUC_ADMIN}}}query": self._on_room_iq,
            f"{{{NS_MUC_OWNER}}}query": self._on_owner_iq,
            f"{{{NS_MAM}}}query": self._on_mam,
            f"{{{NS_MAM}}}metadata": self._on_mam,
            f"{{{NS_VCARD}}}vCard": self._on_vcard,
        }

    def register(self) -> None:
        """One handler per stanza kind; iq payloads are dispatched here by their tag."""
        xmpp = self._gw.xmpp
        # slixmpp's own message handlers only raise 'message' events, which nothing here
        # listens to, after matching every stanza against an XPath expression each.
        for unused in SLIXMPP_MESSAGE_HANDLERS:
            xmpp.remove_handler(unused)
        iq, message, presence = (f"{{{xmpp.default_ns}}}{name}" for name in STANZA_NAMES)
        for name, matcher, handler in (
            ("iq", IqPayload(iq, self._iq_routes), self._on_iq),
            ("message", TopTag(message), self._on_message),
            ("presence", TopTag(presence), self._on_presence),
        ):
            xmpp.register_handler(
                CoroutineCallback(f"bridge {name}", matcher, guarded(handler, self._send))
            )

    # ------------------------------------------------------------------ iq

    async def _on_iq(self, iq: Iq) -> None:
        """The route of the first payload that has one (the matcher saw there is one)."""
        for child in iq.xml:
            route = self._iq_routes.get(child.tag)
            if route is not None:
                await route(iq)
                return

    async def _on_disco_info(self, iq: Iq) -> None:
        self._gw.disco.on_info(iq)

    async def _on_disco_items(self, iq: Iq) -> None:
        place = self._gw.locate_or_none(iq["to"])
        server = place.server if isinstance(place, ServerPlace) else None
        if isinstance(place, GatewayPlace):
            server = self._gw.fixed_server
        if server is not None and not iq["disco_items"]["node"]:
            await self._gw.directory.on_items(iq, server)
        else:
            self._gw.disco.on_items(iq)

    async def _on_register(self, iq: Iq) -> None:
        if iq["type"] not in ("get", "set"):
            return
        place = self._place_or_reply(iq)
        if isinstance(place, GatewayPlace):
            await self._gw.registration.on_iq(iq)
        elif isinstance(place, ServerPlace) and self._gw.server_registration is not None:
            await self._gw.server_registration.on_iq(iq, place.server)
        elif place is not None:
            text = f"Register with the gateway itself: send this to {self._gw.domain}"
            self._send(error_reply(iq, XmppError("cancel", "feature-not-implemented"), text))

    async def _on_ping(self, iq: Iq) -> None:
        if iq["type"] != "get":
            return
        place = self._place_or_reply(iq)
        if isinstance(place, RoomPlace) and place.nick is not None:
            await self._gw.muc.on_iq(iq, place.room)
            return
        if isinstance(place, ContactPlace):
            try:
                session = await self._gw.sessions.session_for(iq["from"].bare)
                await session.ping_contact(place.contact)
            except NotSupported:
                pass  # the gateway answers for a network that cannot ping people
            except LegacyError as failure:
                self._send(failure_reply(iq, failure))
                return
        if place is not None:
            self._send(iq.reply(clear=True))

    async def _on_version(self, iq: Iq) -> None:
        if iq["type"] != "get":
            return
        place = self._place_or_reply(iq)
        if place is None:
            return
        reply: Iq = iq.reply(clear=True)
        version = reply["software_version"]
        if isinstance(place, ContactPlace):
            try:
                session = await self._gw.sessions.session_for(iq["from"].bare)
                theirs = await session.contact_version(place.contact)
            except LegacyError as failure:
                self._send(failure_reply(iq, failure))
                return
            version["name"], version["version"] = theirs.name, theirs.version
            if theirs.os:
                version["os"] = theirs.os
        else:
            version["name"], version["version"] = "xmpp-bridge", __version__
        self._send(reply)

    async def _on_room_iq(self, iq: Iq) -> None:
        if iq["type"] not in ("get", "set"):
            return
        place = self._place_or_reply(iq)
        if place is None:
            return
        handled = isinstance(place, RoomPlace) and await self._gw.muc.on_iq(iq, place.room)
        if not handled:
            text = f"{iq['to']} is not a room: room administration does not apply."
            self._send(error_reply(iq, XmppError("cancel", "feature-not-implemented"), text))
        self._gw.rooms.sync(iq["from"].bare)

    async def _on_owner_iq(self, iq: Iq) -> None:
        if iq["type"] not in ("get", "set"):
            return
        place = self._place_or_reply(iq)
        if isinstance(place, RoomPlace) and place.nick is None:
            await self._gw.room_config.on_owner_iq(iq, place.room)
        elif place is not None:
            text = f"{iq['to']} is not a room: room configuration does not apply."
            self._send(error_reply(iq, XmppError("cancel", "feature-not-implemented"), text))

    async def _on_vcard(self, iq: Iq) -> None:
        if iq["type"] not in ("get", "set"):
            return
        place = self._place_or_reply(iq)
        if isinstance(place, RoomPlace) and place.nick is None:
            self._gw.room_avatars.on_vcard(iq, place.room)
        elif place is not None:
            text = f"{iq['to']} has no vCard on this gateway."
            self._send(error_reply(iq, XmppError("cancel", "service-unavailable"), text))

    async def _on_mam(self, iq: Iq) -> None:
        place = self._place_or_reply(iq)
        if place is not None:
            await self._gw.mam.on_iq(iq, place)

    # ------------------------------------------------------------------ message, presence

    async def _on_message(self, message: Message) -> None:
        kind = message["type"]
        if kind == "error":
            log.debug("error message from %s ignored", message["from"])
            return
        place = self._place_or_reply(message)
        if place is None:
            return
        user = message["from"].bare
        limit = self._gw.config.limits.max_body_bytes
        body = message["body"]
        if len(body) * 4 > limit and len(body.encode()) > limit:  # UTF-8: 4 bytes at most
            text = f"The message is over this gateway's limit of {limit} bytes."
            self._send(error_reply(message, XmppError("modify", "not-acceptable"), text))
            return
        if body and not self.rate.allow(user):
            text = "You are sending faster than this gateway allows; wait a moment and resend."
            self._send(error_reply(message, XmppError("wait", "resource-constraint"), text))
            return
        gateway = self._gw
        if isinstance(place, RoomPlace):
            if place.nick is None and mediated_invitations(message):
                await self.invitations.on_mediated(message, place.room)
            elif place.nick is not None:
                await gateway.muc.on_private(message, place.room)
            elif kind == "groupchat":
                await gateway.muc.on_groupchat(message, place.room)
            else:
                text = "Messages to a room go as type 'groupchat', after joining it."
                self._send(error_reply(message, XmppError("modify", "bad-request"), text))
        elif isinstance(place, ContactPlace) and direct_invitation(message) is not None:
            await self.invitations.on_direct(message, place.contact)
        elif isinstance(place, ContactPlace):
            await gateway.chats.on_message(message, place.contact)
        elif isinstance(place, ServerPlace):
            await gateway.chats.on_message(message, place.server)
        elif gateway.fixed_server is not None:
            await gateway.chats.on_message(message, gateway.fixed_server)
        elif body:
            gateway.presence.tell(user, gateway.help_text())

    async def _on_presence(self, presence: Presence) -> None:
        place = self._place_or_reply(presence)
        if place is None:
            return
        gateway = self._gw
        kind = presence["type"]
        if isinstance(place, RoomPlace) and not place.nick and kind in ("subscribe", "unsubscribe"):
            await gateway.room_config.on_subscription(presence, place.room)
            return
        if isinstance(place, RoomPlace):
            if self._over_room_limit(presence, place.room):
                limit = gateway.config.limits.rooms_per_user
                text = f"You are in {limit} rooms, as many as this gateway allows; leave one first."
                self._send(error_reply(presence, XmppError("wait", "resource-constraint"), text))
                return
            await gateway.muc.on_presence(presence, place.room)
            gateway.rooms.sync(presence["from"].bare)
            await self._note_room_presence(presence)
            return
        if presence["type"] in ("subscribe", "unsubscribe") and presence["to"].user:
            await gateway.accounts.remember_subscription(presence)
        await gateway.presence.on_presence(presence, place)

    async def _note_room_presence(self, presence: Presence) -> None:
        """Away/back sent to a room reaches the network too (IRC AWAY), even for users
        whose presence the gateway is not subscribed to."""
        sessions, sender = self._gw.sessions, presence["from"]
        if presence["type"] in ("unavailable", "error"):
            sessions.room_presence(sender.full, sender.bare, None)
            return
        sessions.room_presence(sender.full, sender.bare, resource_presence(presence))
        await sessions.push_presence(sender.bare)

    def _over_room_limit(self, presence: Presence, room: RoomAddress) -> bool:
        if presence["type"] in ("unavailable", "error"):
            return False
        rooms = {joined for joined, _nick in self._gw.muc.joined_rooms(presence["from"].bare)}
        return room not in rooms and len(rooms) >= self._gw.config.limits.rooms_per_user

    def _place_or_reply(self, stanza: Replyable) -> Place | None:
        try:
            return self._gw.locate(stanza["to"])
        except AddressError as error:
            if stanza["type"] not in ("error", "result", "unavailable"):
                text = f"{stanza['to']} is not an address on this gateway: {error}."
                self._send(error_reply(stanza, XmppError("modify", "jid-malformed"), text))
            return None


class TopTag(MatcherBase):
    """Stanzas whose element has this tag: a string comparison, where slixmpp's StanzaPath
    and XPath matchers cost microseconds each, for each handler, for each stanza."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self._tag = tag

    def match(self, xml: StanzaBase) -> bool:
        return bool(xml.xml.tag == self._tag)


class IqPayload(MatcherBase):
    """Iq stanzas (*tag*) with a payload one of *routes* handles."""

    def __init__(self, tag: str, routes: Mapping[str, object]) -> None:
        super().__init__(tag)
        self._tag = tag
        self._routes = routes

    def match(self, xml: StanzaBase) -> bool:
        element = xml.xml
        return element.tag == self._tag and any(child.tag in self._routes for child in element)


def guarded(
    handler: Callable[[Any], Awaitable[None]], send: Callable[[StanzaBase], None]
) -> Callable[[Any], Awaitable[None]]:
    """Run *handler*; a bug answers internal-server-error and is logged, never fatal."""

    async def run(stanza: Any) -> None:
        try:
            await handler(stanza)
        except Exception:
            log.exception("failed to handle %s from %s", stanza.name, stanza["from"])
            if stanza["type"] in ("get", "set", "", "chat", "groupchat", "normal", "available"):
                error = XmppError("wait", "internal-server-error")
                send(error_reply(stanza, error, INTERNAL_ERROR_TEXT))

    return run
