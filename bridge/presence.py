"""XEP-0100 presence: the user's availability drives the legacy session.

The first available resource logs the user in, the last unavailable one logs them
out unless they registered "stay connected". The gateway, server and contact JIDs
accept subscriptions and answer probes, so clients can show whether the link is up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slixmpp.plugins.xep_0115.stanza import Capabilities as CapsStanza
from slixmpp.stanza import Message, Presence
from slixmpp.xmlstream import register_stanza_plugin

from bridge.caps import DiscoInfo
from bridge.errors import LegacyError, error_text
from bridge.events import Show
from bridge.routing import GatewayPlace, Place, RoomPlace
from bridge.sessions import ResourcePresence, SessionManager
from bridge.tasks import Background

log = logging.getLogger(__name__)

register_stanza_plugin(Presence, CapsStanza)

CAPS_NODE = "https://github.com/xmpp-bridge/xmpp-bridge"
_SHOWS = {"chat": Show.CHAT, "away": Show.AWAY, "xa": Show.XA, "dnd": Show.DND}


def resource_presence(presence: Presence) -> ResourcePresence:
    show = _SHOWS.get(presence["show"], Show.AVAILABLE)
    try:
        priority = int(presence["priority"] or 0)
    except ValueError:
        priority = 0
    return ResourcePresence(show, presence["status"], priority)


class PresenceService:
    def __init__(
        self,
        *,
        gateway_jid: str,
        gateway_info: DiscoInfo,
        sessions: SessionManager,
        is_registered: Callable[[str], Awaitable[bool]],
        stay_connected: Callable[[str], Awaitable[bool]],
        send: Callable[[Presence | Message], None],
        on_resource_gone: Callable[[str], None],
        on_logged_out: Callable[[str], None],
        is_available: Callable[[str, Place], bool],
    ) -> None:
        self._jid = gateway_jid
        self._caps_ver = gateway_info.caps_ver()
        self._sessions = sessions
        self._is_registered = is_registered
        self._stay_connected = stay_connected
        self._send = send
        self._on_resource_gone = on_resource_gone
        self._on_logged_out = on_logged_out
        self._is_available = is_available
        self._background = Background()

    async def on_presence(self, presence: Presence, place: Place) -> None:
        kind = presence["type"]
        if isinstance(place, RoomPlace):
            return
        if kind in ("subscribe", "unsubscribe"):
            self._answer_subscription(presence, granted=kind == "subscribe")
        elif kind == "probe":
            user = presence["from"].bare
            self._announce(user, presence["to"].full, self._is_available(user, place))
        elif isinstance(place, GatewayPlace) and kind in ("available", *_SHOWS):
            await self._resource_available(presence)
        elif isinstance(place, GatewayPlace) and kind in ("unavailable", "error"):
            await self._resource_unavailable(presence)

    def announce_gateway(self, to: str, available: bool = True, status: str = "") -> None:
        self._announce(to, self._jid, available, status)

    def announce(
        self, to: str, origin: str, available: bool, status: str = "", show: Show | None = None
    ) -> None:
        self._announce(to, origin, available, status, show)

    async def close(self) -> None:
        self._background.cancel()
        await self._background.finish()

    def _answer_subscription(self, presence: Presence, granted: bool) -> None:
        answer = Presence()
        answer["from"] = presence["to"].bare
        answer["to"] = presence["from"].bare
        answer["type"] = "subscribed" if granted else "unsubscribed"
        self._send(answer)
        if granted and not presence["to"].user:
            self._announce(presence["from"].bare, self._jid, True)

    def _announce(
        self, to: str, origin: str, available: bool, status: str = "", show: Show | None = None
    ) -> None:
        presence = Presence()
        presence["from"] = origin
        presence["to"] = to
        if not available:
            presence["type"] = "unavailable"
        elif show in _SHOWS.values():
            presence["show"] = str(show)
        if status:
            presence["status"] = status
        if available and origin == self._jid:
            presence["caps"]["hash"] = "sha-1"
            presence["caps"]["node"] = CAPS_NODE
            presence["caps"]["ver"] = self._caps_ver
        self._send(presence)

    async def _resource_available(self, presence: Presence) -> None:
        user = presence["from"].bare
        first = self._sessions.resource_available(
            presence["from"].full, user, resource_presence(presence)
        )
        self._announce(presence["from"].full, self._jid, True)
        if first and await self._is_registered(user):
            self._background.spawn(self._login(user))
        else:
            await self._sessions.push_presence(user)

    async def _resource_unavailable(self, presence: Presence) -> None:
        if not presence["from"].resource:
            # From the bare JID: the server's answer about subscription state (RFC 6121
            # §4.3.2), not a resource going away; real resources announce their own exit.
            return
        user = presence["from"].bare
        self._on_resource_gone(presence["from"].full)
        last = self._sessions.resource_unavailable(presence["from"].full, user)
        if not last:
            await self._sessions.push_presence(user)
            return
        if await self._stay_connected(user):
            await self._sessions.push_presence(user)  # the network sees them go offline
            return
        self._on_logged_out(user)
        await self._sessions.logout(user, "the user went offline")

    async def _login(self, user: str) -> None:
        try:
            await self._sessions.session_for(user)
        except LegacyError as failure:
            log.info("login of %s failed: %s", user, error_text(failure))
            self.tell(user, f"Could not log in: {error_text(failure)}")

    def tell(self, user: str, text: str) -> None:
        """A chat message from the gateway itself to the user."""
        message = Message()
        message["from"] = self._jid
        message["to"] = user
        message["type"] = "chat"
        message["body"] = text
        self._send(message)
