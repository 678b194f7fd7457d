"""What registering and unregistering do beyond the form (XEP-0100 §4.1, XEP-0077 §3.3)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel
from slixmpp import JID
from slixmpp.stanza import Presence
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import AddressError, ContactAddress
from bridge.errors import LegacyError, error_text
from bridge.events import WatchContact
from bridge.muc.service import MucService
from bridge.network import HostResolver, LegacySession, Network
from bridge.presence import PresenceService
from bridge.room_memory import RoomMemory
from bridge.routing import ContactPlace, Place
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
        locate: Callable[[JID], Place],
        network: Network,
        load_settings: Callable[[str], Awaitable[BaseModel | None]],
        hosts: HostResolver,
    ) -> None:
        self._jid = gateway_jid
        self._store = store
        self._sessions = sessions
        self._muc = muc
        self._rooms = rooms
        self._presence = presence
        self._send = send
        self._locate = locate
        self._network = network
        self._load_settings = load_settings
        self._hosts = hosts

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
        if wanted == contacts:
            return
        await self._store.settings.put(
            self._jid, user, ROSTER_SCOPE, values={"jids": sorted(wanted)}, secrets={}
        )
        session = self._sessions.session_of(user)
        address = self._contact(contact)
        if session is not None and address is not None:
            watch = WatchContact(address, presence["type"] == "subscribe")
            await _quietly(session.apply(watch))

    async def contacts(self, user: str) -> list[str]:
        stored = await self._store.settings.get(self._jid, user, ROSTER_SCOPE)
        return list(stored.values.get("jids", [])) if stored else []

    async def watch_contacts(self, user: str, session: LegacySession) -> None:
        """At login: ask the network to report the presence of every contact the user added."""
        for jid in await self.contacts(user):
            contact = self._contact(jid)
            if contact is not None:
                await _quietly(session.apply(WatchContact(contact)))

    def _contact(self, jid: str) -> ContactAddress | None:
        try:
            place = self._locate(JID(jid))
        except AddressError:
            return None
        return place.contact if isinstance(place, ContactPlace) else None

    async def unregister(self, user: str) -> None:
        """XEP-0077 <remove/>: log out, forget everything, and end every subscription."""
        self._muc.user_gone(user)
        await self._sessions.logout(user, "registration removed")
        await self._remove_on_network(user)
        contacts = await self.contacts(user)
        await self._store.delete_user(self._jid, user)
        self._rooms.forget(user)
        for origin in [*contacts, self._jid]:
            self._presence_to(user, origin, "unsubscribe")
            self._presence_to(user, origin, "unsubscribed")
        log.info("registration of %s removed", user)

    async def _remove_on_network(self, user: str) -> None:
        """Let the network undo the registration (log a device out); never blocks removal."""
        try:
            settings = await self._load_settings(user)
            await self._network.remove_registration(user, settings, self._hosts)
        except Exception as error:
            log.warning("the network could not undo the registration of %s: %s", user, error)

    def _presence_to(self, user: str, origin: str, kind: str) -> None:
        presence = Presence()
        presence["from"] = origin
        presence["to"] = user
        presence["type"] = kind
        self._send(presence)


async def _quietly(applying: Awaitable[None]) -> None:
    try:
        await applying
    except LegacyError as error:
        log.info("contact presence not watched: %s", error_text(error))
