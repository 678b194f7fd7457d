"""One gateway: a component connection, its network plugin, and the services between them.

Stanzas arrive here, are located (which gateway, server, room or person they name) and
handed to the service that owns that kind of place. Events from the plugin come back
through :meth:`Gateway.on_event` and go out the same way. Nothing that arrives, from
either side, may take the process down: every handler runs behind :func:`_guarded`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slixmpp import JID, ComponentXMPP
from slixmpp.plugins.xep_0092.stanza import Version
from slixmpp.plugins.xep_0199.stanza import Ping
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath, StanzaPath

from bridge import __version__
from bridge.addressing import AddressError, ContactAddress, RoomAddress, ServerAddress
from bridge.caps import DiscoInfo, Identity
from bridge.chats import ChatService
from bridge.commands import CommandService
from bridge.config import GatewayConfig
from bridge.disco import BASE_FEATURES, COMMANDS_NODE, DiscoService, describe_place
from bridge.errors import XmppError
from bridge.events import (
    Connected,
    ContactPresence,
    Disconnected,
    LegacyEvent,
    MessageIn,
    Show,
    Typing,
)
from bridge.link import ComponentLink
from bridge.muc.service import ROOM_FEATURES, MucService
from bridge.network import Network
from bridge.policy import HostPolicy, RateLimiter, RegistrationGate, is_admin
from bridge.presence import CAPS_NODE, PresenceService
from bridge.registration import RegistrationBook, RegistrationService
from bridge.replies import Replyable, error_reply
from bridge.room_archive import RoomArchive
from bridge.room_memory import RoomMemory
from bridge.routing import ContactPlace, GatewayPlace, Place, RoomPlace, ServerPlace, locate
from bridge.sessions import SessionManager
from bridge.store.archive_writer import ArchiveWriter
from bridge.store.store import Store
from bridge.user_store import ScopedStore

log = logging.getLogger(__name__)

register_stanza_plugin(Iq, Ping)
register_stanza_plugin(Iq, Version)

NS_REGISTER = "jabber:iq:register"
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
ROSTER_SCOPE = "roster"


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        network: Network,
        *,
        store: Store,
        archive: ArchiveWriter,
        secret: str,
    ) -> None:
        self.config = config
        self.network = network
        self.store = store
        self.domain = config.domain
        self.name = config.name or f"{network.name.upper()} gateway"
        self.xmpp = ComponentXMPP(self.domain, secret)
        self.link = ComponentLink(self.xmpp, config.server_host, config.server_port)
        send = self.link.send
        self.book = RegistrationBook(store.registrations, self.domain, network)
        self.sessions = SessionManager(
            network,
            load_settings=self.book.settings,
            hosts=HostPolicy(config.hosts),
            on_event=self.on_event,
            on_login=lambda user: self.rooms.resume(user),
            store_for=self.user_store,
            max_sessions=config.limits.sessions,
        )
        self.info = DiscoInfo(
            (
                Identity("gateway", network.name, self.name),
                Identity("conference", "text", self.name),
            ),
            (
                *BASE_FEATURES,
                "http://jabber.org/protocol/caps",
                "http://jabber.org/protocol/muc",
                NS_REGISTER,
                COMMANDS_NODE,
                "jabber:iq:version",
            ),
        )
        self.muc = MucService(
            gateway_jid=self.domain,
            grammar=network.grammar,
            send=send,
            sessions=self.sessions,
            archive=RoomArchive(archive, self.domain, network.grammar),
        )
        self.chats = ChatService(
            gateway_jid=self.domain,
            grammar=network.grammar,
            capabilities=network.capabilities,
            sessions=self.sessions,
            send=send,
            max_body_bytes=config.limits.max_body_bytes,
        )
        self.presence = PresenceService(
            gateway_jid=self.domain,
            gateway_info=self.info,
            sessions=self.sessions,
            is_registered=self._is_registered,
            stay_connected=self.book.stay_connected,
            send=send,
            on_resource_gone=lambda full: self.muc.resource_gone(JID(full)),
            on_logged_out=self._logged_out,
            is_available=self._is_available,
        )
        self.commands = CommandService(
            self.xmpp,
            locate=self._locate_or_none,
            is_admin=lambda jid: is_admin(config, jid),
            session_of=self.sessions.session_of,
            store_for=self.user_store,
            send=send,
        )
        self.registration = RegistrationService(
            gateway_jid=self.domain,
            name=self.name,
            network=network,
            book=self.book,
            gate=RegistrationGate(config.registration),
            send=send,
            on_registered=self._registered,
            on_removed=self._unregister,
        )
        self.commands.add(self.registration.command())
        for command in network.commands:
            self.commands.add(command)
        self.disco = DiscoService(
            locate=self.locate,
            info_for=self._describe,
            caps_node=CAPS_NODE,
            command_items=self.commands.items_for,
            has_command=self.commands.has_command,
            send=send,
        )
        self._rate = RateLimiter(config.limits.messages_per_minute)
        self.rooms = RoomMemory(
            gateway=self.domain,
            grammar=network.grammar,
            rows=store.rooms,
            muc=self.muc,
            online_resources=self.sessions.online_resources,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._register_handlers()
        self.xmpp.add_event_handler("session_start", self._on_connected)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.link.start()

    async def stop(self) -> None:
        """Tell every joined client the room is shutting down (332), then log everyone out."""
        for user in self.sessions.users():
            self.muc.user_gone(user)
            self.presence.announce_gateway(user, available=False, status="The gateway stops.")
        await self.presence.close()
        await self.sessions.close_all("gateway shutting down")
        # Pending writes finish: a write cancelled mid-transaction would hold SQLite's lock.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.rooms.close()
        await self.link.close()

    async def _on_connected(self, _: Any) -> None:
        """Each (re)connection: probe registered users so their sessions come back."""
        for user in await self.book.users():
            probe = Presence()
            probe["from"] = self.domain
            probe["to"] = user
            probe["type"] = "probe"
            self.link.send(probe)

    # ------------------------------------------------------------------ locating

    def user_store(self, user: str) -> ScopedStore:
        return ScopedStore(self.store.settings, self.domain, user)

    def locate(self, jid: JID) -> Place:
        return locate(jid, self.network.grammar)

    def _locate_or_none(self, jid: JID) -> Place | None:
        try:
            return self.locate(jid)
        except AddressError:
            return None

    def jid_of(self, address: RoomAddress | ContactAddress | ServerAddress) -> str:
        return f"{self.network.grammar.format(address)}@{self.domain}"

    # ------------------------------------------------------------------ handlers

    def _register_handlers(self) -> None:
        iq_routes: dict[str, Callable[[Iq], Awaitable[None]]] = {
            "{http://jabber.org/protocol/disco#info}query": self._sync(self.disco.on_info),
            "{http://jabber.org/protocol/disco#items}query": self._sync(self.disco.on_items),
            f"{{{NS_REGISTER}}}query": self._on_register,
            "{urn:xmpp:ping}ping": self._on_ping,
            "{jabber:iq:version}query": self._on_version,
            f"{{{NS_MUC_ADMIN}}}query": self._on_room_iq,
            f"{{{NS_MUC_OWNER}}}query": self._on_room_iq,
        }
        for payload, handler in iq_routes.items():
            self.xmpp.register_handler(
                CoroutineCallback(
                    f"bridge iq {payload}",
                    MatchXPath(f"{{{self.xmpp.default_ns}}}iq/{payload}"),
                    _guarded(handler, self.link.send),
                )
            )
        self.xmpp.register_handler(
            CoroutineCallback(
                "bridge message", StanzaPath("message"), _guarded(self._on_message, self.link.send)
            )
        )
        self.xmpp.register_handler(
            CoroutineCallback(
                "bridge presence",
                StanzaPath("presence"),
                _guarded(self._on_presence, self.link.send),
            )
        )

    @staticmethod
    def _sync(handler: Callable[[Iq], None]) -> Callable[[Iq], Awaitable[None]]:
        async def run(iq: Iq) -> None:
            handler(iq)

        return run

    async def _on_register(self, iq: Iq) -> None:
        if iq["type"] not in ("get", "set"):
            return
        if iq["to"].user:
            text = "Register with the gateway itself: send this to " + self.domain
            self.link.send(error_reply(iq, XmppError("cancel", "feature-not-implemented"), text))
            return
        await self.registration.on_iq(iq)

    async def _on_ping(self, iq: Iq) -> None:
        if iq["type"] != "get":
            return
        place = self._place_or_reply(iq)
        if isinstance(place, RoomPlace) and place.nick is not None:
            await self.muc.on_iq(iq, place.room)
            return
        if place is not None:
            self.link.send(iq.reply(clear=True))

    async def _on_version(self, iq: Iq) -> None:
        if iq["type"] != "get":
            return
        reply: Iq = iq.reply(clear=True)
        reply["software_version"]["name"] = "xmpp-bridge"
        reply["software_version"]["version"] = __version__
        self.link.send(reply)

    async def _on_room_iq(self, iq: Iq) -> None:
        if iq["type"] not in ("get", "set"):
            return
        place = self._place_or_reply(iq)
        if place is None:
            return
        handled = isinstance(place, RoomPlace) and await self.muc.on_iq(iq, place.room)
        if not handled:
            text = f"{iq['to']} is not a room: room administration does not apply."
            self.link.send(error_reply(iq, XmppError("cancel", "feature-not-implemented"), text))
        self.rooms.sync(iq["from"].bare)

    async def _on_message(self, message: Message) -> None:
        if message["type"] == "error":
            log.debug("error message from %s ignored", message["from"])
            return
        place = self._place_or_reply(message)
        if place is None:
            return
        user = message["from"].bare
        if message["body"] and not self._rate.allow(user):
            text = "You are sending faster than this gateway allows; wait a moment and resend."
            self.link.send(error_reply(message, XmppError("wait", "resource-constraint"), text))
            return
        if isinstance(place, RoomPlace):
            if place.nick is not None:
                await self.muc.on_private(message, place.room)
            elif message["type"] == "groupchat":
                await self.muc.on_groupchat(message, place.room)
            else:
                text = "Messages to a room go as type 'groupchat', after joining it."
                self.link.send(error_reply(message, XmppError("modify", "bad-request"), text))
        elif isinstance(place, ContactPlace):
            await self.chats.on_message(message, place.contact)
        elif isinstance(place, ServerPlace):
            await self.chats.on_message(message, place.server)
        elif message["body"]:
            self.presence.tell(user, self._help_text())

    async def _on_presence(self, presence: Presence) -> None:
        place = self._place_or_reply(presence)
        if place is None:
            return
        if isinstance(place, RoomPlace):
            if self._over_room_limit(presence, place.room):
                limit = self.config.limits.rooms_per_user
                text = f"You are in {limit} rooms, as many as this gateway allows; leave one first."
                self.link.send(
                    error_reply(presence, XmppError("wait", "resource-constraint"), text)
                )
                return
            await self.muc.on_presence(presence, place.room)
            self.rooms.sync(presence["from"].bare)
            return
        if presence["type"] in ("subscribe", "unsubscribe") and presence["to"].user:
            await self._remember_subscription(presence)
        await self.presence.on_presence(presence, place)

    def _over_room_limit(self, presence: Presence, room: RoomAddress) -> bool:
        if presence["type"] in ("unavailable", "error"):
            return False
        rooms = {joined for joined, _nick in self.muc.joined_rooms(presence["from"].bare)}
        return room not in rooms and len(rooms) >= self.config.limits.rooms_per_user

    def _place_or_reply(self, stanza: Replyable) -> Place | None:
        try:
            return self.locate(stanza["to"])
        except AddressError as error:
            if stanza["type"] not in ("error", "result", "unavailable"):
                text = f"{stanza['to']} is not an address on this gateway: {error}."
                self.link.send(error_reply(stanza, XmppError("modify", "jid-malformed"), text))
            return None

    # ------------------------------------------------------------------ plugin events

    def on_event(self, user: str, event: LegacyEvent) -> None:
        """Everything the plugin emits for *user*; never raises into the plugin."""
        try:
            self._dispatch(user, event)
        except Exception:
            log.exception("could not deliver %s to %s", type(event).__name__, user)

    def _dispatch(self, user: str, event: LegacyEvent) -> None:
        if isinstance(event, Connected | Disconnected):
            self._link_state(user, event)
        if self.muc.on_event(user, event):
            self.rooms.sync(user)
            return
        if isinstance(event, MessageIn) and not isinstance(event.source, RoomAddress):
            self.chats.deliver(user, event)
        elif isinstance(event, Typing):
            self.chats.deliver_typing(user, event)
        elif isinstance(event, ContactPresence):
            available = event.show is not Show.OFFLINE
            self.presence.announce(user, self.jid_of(event.contact), available, event.status)

    def _link_state(self, user: str, event: Connected | Disconnected) -> None:
        origin = self.jid_of(ServerAddress(event.server)) if event.server else self.domain
        if isinstance(event, Connected):
            self.presence.announce(user, origin, True)
        else:
            self.presence.announce(user, origin, False, event.reason)

    # ------------------------------------------------------------------ registration

    async def _is_registered(self, user: str) -> bool:
        return await self.book.load(user) is not None

    def _is_available(self, user: str, place: Place) -> bool:
        if isinstance(place, GatewayPlace):
            return True
        return self.sessions.session_of(user) is not None and isinstance(place, ServerPlace)

    async def _registered(self, user: str, new: bool) -> None:
        """XEP-0100 §4.1: ask for the user's presence, and log in if they are online."""
        if new:
            subscribe = Presence()
            subscribe["from"] = self.domain
            subscribe["to"] = user
            subscribe["type"] = "subscribe"
            self.link.send(subscribe)
        if self.sessions.online_resources(user):
            await self.sessions.logout(user, "registration changed")
            self._spawn(self._login(user))

    async def _login(self, user: str) -> None:
        try:
            await self.sessions.session_for(user)
        except Exception as failure:
            self.presence.tell(user, f"Could not log in: {failure}")

    async def _remember_subscription(self, presence: Presence) -> None:
        """Keep the contacts a user added, so removing the registration can remove them too."""
        user, contact = presence["from"].bare, presence["to"].bare
        stored = await self.store.settings.get(self.domain, user, ROSTER_SCOPE)
        contacts = set(stored.values.get("jids", [])) if stored else set()
        wanted = contacts | {contact} if presence["type"] == "subscribe" else contacts - {contact}
        if wanted != contacts:
            await self.store.settings.put(
                self.domain, user, ROSTER_SCOPE, values={"jids": sorted(wanted)}, secrets={}
            )

    async def _unregister(self, user: str) -> None:
        """XEP-0077 <remove/>: log out, forget everything, and end every subscription."""
        self.muc.user_gone(user)
        await self.sessions.logout(user, "registration removed")
        stored = await self.store.settings.get(self.domain, user, ROSTER_SCOPE)
        contacts = list(stored.values.get("jids", [])) if stored else []
        await self.store.delete_user(self.domain, user)
        self.rooms.forget(user)
        for origin in [*contacts, self.domain]:
            for kind in ("unsubscribe", "unsubscribed"):
                presence = Presence()
                presence["from"] = origin
                presence["to"] = user
                presence["type"] = kind
                self.link.send(presence)
        log.info("registration of %s removed", user)

    def _logged_out(self, user: str) -> None:
        """The user went offline: their rooms are left, and nothing is left to resume."""
        self.muc.user_gone(user)
        self.rooms.sync(user)

    # ------------------------------------------------------------------ helpers

    def _help_text(self) -> str:
        return (
            f"This is {self.name}. Join rooms as {self.jid_of(RoomAddress('server', '#room'))}, "
            f"talk to people as {self.jid_of(ContactAddress('server', 'nick'))}; "
            "the gateway's ad-hoc commands list what else it can do."
        )

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _describe(self, place: Place, requester: JID) -> DiscoInfo | None:
        def room_info(room_place: RoomPlace) -> DiscoInfo:
            identities, features = self.muc.room_disco_info(requester.bare, room_place.room)
            return DiscoInfo(
                tuple(Identity(c, t, n) for c, t, n in identities),
                tuple(features) or tuple(ROOM_FEATURES),
            )

        return describe_place(
            place, gateway=self.info, network_name=self.network.name, room_info=room_info
        )


def _guarded(
    handler: Callable[[Any], Awaitable[None]], send: Callable[[StanzaBase], None]
) -> Callable[[Any], Awaitable[None]]:
    """Run *handler*; a bug answers internal-server-error and is logged, never fatal."""

    async def run(stanza: Any) -> None:
        try:
            await handler(stanza)
        except Exception:
            log.exception("failed to handle %s from %s", stanza.name, stanza["from"])
            if stanza["type"] in ("get", "set", "", "chat", "groupchat", "normal", "available"):
                text = "The gateway failed to handle this; the operator's log has the details."
                send(error_reply(stanza, XmppError("wait", "internal-server-error"), text))

    return run
