"""What registering and unregistering do beyond the form (XEP-0100 §4.1, XEP-0077 §3.3)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slixmpp.stanza import Presence
from slixmpp.xmlstream import StanzaBase

from bridge.errors import LegacyError, error_text
from bridge.muc.service import MucService
from bridge.presence import PresenceService
from bridge.room_memory import RoomMemory
from bridge.sessions import SessionManager
from bridge.store.store import Store

log = logging.getLogger(__name__)

ROSTER_SCOPE = "roster"


class Accounts:
    def __init__(
        self,
        *,
        gateway_jid: str,
        store: Store,
        sessions: SessionManager,
        muc: MucService,
        rooms: RoomMemory,
        presence: PresenceService,
        send: Callable[[StanzaBase], None],
    ) -> None:
        self._jid = gateway_jid
        self._store = store
        self._sessions = sessions
        self._muc = muc
        self._rooms = rooms
        self._presence = presence
        self._send = send

    async def registered(self, user: str, new: bool) -> None:
        """Ask for the user's presence (new users), and log in again with what changed."""
        if new:
            self._presence_to(user, self._jid, "subscribe")
        if self._sessions.online_resources(user):
            await self._sessions.logout(user, "registration changed")
            try:
                await self._sessions.session_for(user)
            except LegacyError as failure:
                self._presence.tell(user, f"Could not log in: {error_text(failure)}")

    async def remember_subscription(self, presence: Presence) -> None:
        """Keep the contacts a user added, so removing the registration removes them too."""
        user, contact = presence["from"].bare, presence["to"].bare
        stored = await self._store.settings.get(self._jid, user, ROSTER_SCOPE)
        contacts = set(stored.values.get("jids", [])) if stored else set()
        wanted = contacts | {contact} if presence["type"] == "subscribe" else contacts - {contact}
        if wanted != contacts:
            await self._store.settings.put(
                self._jid, user, ROSTER_SCOPE, values={"jids": sorted(wanted)}, secrets={}
            )

    async def unregister(self, user: str) -> None:
        """XEP-0077 <remove/>: log out, forget everything, and end every subscription."""
        self._muc.user_gone(user)
        await self._sessions.logout(user, "registration removed")
        stored = await self._store.settings.get(self._jid, user, ROSTER_SCOPE)
        contacts = list(stored.values.get("jids", [])) if stored else []
        await self._store.delete_user(self._jid, user)
        self._rooms.forget(user)
        for origin in [*contacts, self._jid]:
            self._presence_to(user, origin, "unsubscribe")
            self._presence_to(user, origin, "unsubscribed")
        log.info("registration of %s removed", user)

    def _presence_to(self, user: str, origin: str, kind: str) -> None:
        presence = Presence()
        presence["from"] = origin
        presence["to"] = user
        presence["type"] = kind
        self._send(presence)
