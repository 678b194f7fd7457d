"""One gateway: a component connection, its network plugin, and the services between them.

Stanzas come in through :class:`bridge.routes.StanzaRouter`; events from the plugin
come back through :meth:`Gateway.on_event` and go out through the same services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slixmpp import JID, ComponentXMPP
from slixmpp.stanza import Presence

from bridge.accounts import Accounts
from bridge.addressing import AddressError, ContactAddress, RoomAddress, ServerAddress
from bridge.admin import Reloader, admin_commands
from bridge.attachments import AttachmentRenderer, MediaPublisher
from bridge.backfill import Backfill
from bridge.caps import DiscoInfo, Identity
from bridge.chats import ChatService
from bridge.commands import CommandService
from bridge.config import GatewayConfig
from bridge.directory import DirectoryService
from bridge.disco import BASE_FEATURES, COMMANDS_NODE, DiscoService, describe_place
from bridge.errors import LegacyError, error_text
from bridge.events import (
    Connected,
    ContactListed,
    ContactPresence,
    Disconnected,
    HistoryIn,
    JoinFailed,
    Kicked,
    LegacyEvent,
    MessageIn,
    NickChanged,
    RoomAvatar,
    RoomJoined,
    RoomLeft,
    RoomListed,
    Show,
    Typing,
)
from bridge.link import ComponentLink
from bridge.listings import Listings
from bridge.mam import FEATURES as MAM_FEATURES
from bridge.mam import MamService
from bridge.message_ids import Conversation, MessageIds
from bridge.muc.service import ROOM_FEATURES, MucService
from bridge.network import MediaSource, Network, media_source_of
from bridge.own_messages import OwnMessages
from bridge.policy import HostPolicy, RegistrationGate, is_admin
from bridge.presence import CAPS_NODE, PresenceService
from bridge.privileges import Privileges
from bridge.registration import RegistrationBook, RegistrationService
from bridge.relation_stanzas import relation_features
from bridge.relations import Relations
from bridge.room_archive import RoomArchive
from bridge.room_avatars import NS_VCARD, RoomAvatars
from bridge.room_config import RoomConfig
from bridge.room_memory import RoomMemory
from bridge.routes import NS_REGISTER, StanzaRouter
from bridge.routing import GatewayPlace, Place, RoomPlace, ServerPlace, locate
from bridge.server_registration import ServerRegistration
from bridge.sessions import SessionManager
from bridge.store.archive_writer import ArchiveWriter
from bridge.store.store import Store
from bridge.tasks import Background
from bridge.user_store import ScopedStore

log = logging.getLogger(__name__)

MEMBERSHIP_EVENTS = (RoomJoined, RoomLeft, Kicked, NickChanged, JoinFailed)
"""Room events that can change which rooms the user is in, under which nick."""


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        network: Network,
        *,
        store: Store,
        archive: ArchiveWriter,
        secret: str,
        media: MediaPublisher | None = None,
    ) -> None:
        """*media* makes attachment links; None when the HTTP server is off."""
        self.config = config
        self.network = network
        self.store = store
        self.domain = config.domain
        self.name = config.name or f"{network.name.upper()} gateway"
        self.xmpp = ComponentXMPP(self.domain, secret)
        fixed = network.grammar.fixed_server
        self.fixed_server = ServerAddress(fixed) if fixed else None
        """In fixed-server mode the gateway JID is also the server's."""
        self.link = ComponentLink(self.xmpp, config.server_host, config.server_port)
        send = self.link.send
        self.gate = gate = RegistrationGate(config.registration)
        self.hosts = HostPolicy(config.hosts)
        self.reloader: Reloader | None = None
        self.book = RegistrationBook(store.registrations, self.domain, network)
        self.sessions = SessionManager(
            network,
            load_settings=self.book.settings,
            hosts=self.hosts,
            on_event=self.on_event,
            on_login=self._logged_in,
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
                *relation_features(network.capabilities),
            ),
        )
        self.message_ids = MessageIds(network.grammar, self.domain, store.ids)
        self.relations = Relations(network.capabilities, self.message_ids)
        attachments = AttachmentRenderer(media)
        room_archive = RoomArchive(
            archive,
            self.domain,
            network.grammar,
            records=lambda user, room: self.room_config.records(user, room),
        )
        self.backfill = Backfill(room_archive, self.message_ids, attachments)
        self.muc = MucService(
            gateway_jid=self.domain,
            grammar=network.grammar,
            send=send,
            sessions=self.sessions,
            archive=room_archive,
            keep_joined=lambda user, room: self.rooms.is_persistent(user, room),
            relations=self.relations,
            attachments=attachments,
        )
        self.room_avatars = RoomAvatars(
            media_of=self._media_of,
            resources_in=self.muc.resources_in,
            room_jid=self.jid_of,
            send=send,
        )
        self.mam = MamService(
            gateway=self.domain,
            grammar=network.grammar,
            archive=store.archive,
            writer=archive,
            send=send,
        )
        self.rooms = RoomMemory(
            gateway=self.domain,
            grammar=network.grammar,
            rows=store.rooms,
            muc=self.muc,
            online_resources=self.sessions.online_resources,
        )
        self.privileges = Privileges(xmpp=self.xmpp, gateway_jid=self.domain, send=send)
        self.privileges.register()
        self.listings = Listings(
            gateway=self.domain,
            settings=store.settings,
            privileges=self.privileges,
            jid_of=self.jid_of,
        )
        self.room_config = RoomConfig(
            grammar=network.grammar,
            store_for=self.user_store,
            rooms=self.rooms,
            send=send,
            privileges=self.privileges,
            extra=network.room_settings,
            renames=self.sessions if network.capabilities.room_names else None,
        )
        self.chats = ChatService(
            gateway_jid=self.domain,
            grammar=network.grammar,
            capabilities=network.capabilities,
            sessions=self.sessions,
            send=send,
            archive=RoomArchive(
                archive,
                self.domain,
                network.grammar,
                records=lambda user, _contact: self.book.archives_private(user),
            ),
            relations=self.relations,
            attachments=attachments,
            own=OwnMessages(gateway_jid=self.domain, privileges=self.privileges, send=send),
        )
        self.presence = PresenceService(
            gateway_jid=self.domain,
            gateway_info=self.info,
            sessions=self.sessions,
            is_registered=self._is_registered,
            stay_connected=self._stays_connected,
            send=send,
            on_resource_gone=lambda full: self.muc.resource_gone(JID(full)),
            on_logged_out=self._logged_out,
            is_available=self._is_available,
        )
        self.accounts = Accounts(
            gateway_jid=self.domain,
            store=store,
            sessions=self.sessions,
            muc=self.muc,
            rooms=self.rooms,
            presence=self.presence,
            send=send,
            locate=self.locate,
            network=network,
            load_settings=self.book.settings,
            hosts=self.hosts,
        )
        self.commands = CommandService(
            self.xmpp,
            locate=self.locate_or_none,
            is_admin=lambda jid: is_admin(self.config, jid),
            session_of=self.sessions.session_of,
            store_for=self.user_store,
            registration_for=lambda user: self.registration.stored(user),
            fixed_server=self.fixed_server,
            send=send,
        )
        self.registration = RegistrationService(
            gateway_jid=self.domain,
            name=self.name,
            network=network,
            book=self.book,
            gate=gate,
            send=send,
            on_registered=self.accounts.registered,
            on_removed=self.accounts.unregister,
            hosts=self.hosts,
        )
        self.server_registration = (
            ServerRegistration(
                network.server_registration,
                gate=gate,
                session_of=self.sessions.session_of,
                store_for=self.user_store,
                send=send,
            )
            if network.server_registration is not None
            else None
        )
        for command in self.registration.commands(configure=self.fixed_server is None):
            self.commands.add(command)
        self.commands.add(self.room_config.command())
        for command in admin_commands(self):
            self.commands.add(command)
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
        self.directory = DirectoryService(sessions=self.sessions, jid_of=self.jid_of, send=send)
        self._background = Background()
        self.router = StanzaRouter(self)
        self.router.register()
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
        # Cancelled, then awaited: a store write cut off mid-transaction must roll back
        # before the archive writer's last batch, or SQLite stays locked.
        self._background.cancel()
        await self._background.finish()
        await self.sessions.close_all("gateway shutting down")
        await self.rooms.close()
        await self.message_ids.close()
        await self.link.close()

    async def _on_connected(self, _: Any) -> None:
        """Each (re)connection: probe registered users so their sessions come back, and log
        in at once those who stay connected or keep persistent rooms."""
        registered = await self.store.registrations.list_for_gateway(self.domain)
        for registration in registered:
            probe = Presence()
            probe["from"] = self.domain
            probe["to"] = registration.user
            probe["type"] = "probe"
            self.link.send(probe)
        staying = await self.rooms.users_to_resume()
        staying |= {r.user for r in registered if r.stay_connected}
        for user in staying:
            self._background.spawn(self._keep_session(user))

    async def _keep_session(self, user: str) -> None:
        try:
            await self.sessions.session_for(user)
        except LegacyError as failure:
            log.info("could not resume %s: %s", user, error_text(failure))

    async def _stays_connected(self, user: str) -> bool:
        return self.rooms.has_persistent(user) or await self.book.stay_connected(user)

    def reconfigure(self, config: GatewayConfig) -> None:
        """Take a reloaded [[gateway]] section: policy, admins and limits; the domain,
        network and server link stay as they are until a restart."""
        self.config = config
        self.gate.update(config.registration)
        self.hosts.update(config.hosts)
        self.router.rate.set_rate(config.limits.messages_per_minute)

    # ------------------------------------------------------------------ addresses

    def user_store(self, user: str) -> ScopedStore:
        return ScopedStore(self.store.settings, self.domain, user)

    def locate(self, jid: JID) -> Place:
        return locate(jid, self.network.grammar)

    def locate_or_none(self, jid: JID) -> Place | None:
        try:
            return self.locate(jid)
        except AddressError:
            return None

    def jid_of(self, address: RoomAddress | ContactAddress | ServerAddress) -> str:
        return f"{self.network.grammar.format(address)}@{self.domain}"

    def help_text(self) -> str:
        return (
            f"This is {self.name}. Join rooms as {self.jid_of(RoomAddress('server', '#room'))}, "
            f"talk to people as {self.jid_of(ContactAddress('server', 'nick'))}; "
            "the gateway's ad-hoc commands list what else it can do."
        )

    # ------------------------------------------------------------------ plugin events

    def on_event(self, user: str, event: LegacyEvent) -> None:
        """Everything the plugin emits for *user*; never raises into the plugin."""
        _logging_failures(self._dispatch, user, event)

    def _dispatch(self, user: str, event: LegacyEvent) -> None:
        forgotten = self.relations.forgotten(user, event)
        if forgotten:
            self._background.spawn(self._dispatch_recalled(user, event, forgotten))
        else:
            self._deliver(user, event)

    async def _dispatch_recalled(
        self, user: str, event: LegacyEvent, forgotten: list[tuple[Conversation, str]]
    ) -> None:
        """An edit, reaction or removal of a message memory forgot: ask the store first."""
        try:
            await self.relations.recall(user, forgotten)
        except Exception:
            log.warning("id map lookup failed; delivering without the relation", exc_info=True)
        _logging_failures(self._deliver, user, event)

    def _deliver(self, user: str, event: LegacyEvent) -> None:
        if isinstance(event, Connected | Disconnected):
            origin = self.jid_of(ServerAddress(event.server)) if event.server else self.domain
            status = event.reason if isinstance(event, Disconnected) else ""
            self.presence.announce(user, origin, isinstance(event, Connected), status)
        if isinstance(event, HistoryIn):
            self._background.spawn(self.backfill.take(user, event))
            return
        if isinstance(event, RoomAvatar):
            self._background.spawn(self.room_avatars.take(user, event))
            return
        if self.muc.on_event(user, event):
            if isinstance(event, MEMBERSHIP_EVENTS):
                self.rooms.sync(user)  # not per message: only these change who is where
            return
        if self.chats.links.handle(user, event):
            return
        if isinstance(event, MessageIn) and not isinstance(event.source, RoomAddress):
            self.chats.deliver(user, event)
        elif isinstance(event, Typing):
            self.chats.deliver_typing(user, event)
        elif isinstance(event, ContactPresence):
            available = event.show is not Show.OFFLINE
            origin = self.jid_of(event.contact)
            self.presence.announce(user, origin, available, event.status, event.show)
        elif isinstance(event, RoomListed | ContactListed):
            self._background.spawn(self.listings.offer(user, event))

    # ------------------------------------------------------------------ users

    async def _is_registered(self, user: str) -> bool:
        return await self.book.load(user) is not None

    def _is_available(self, user: str, place: Place) -> bool:
        if isinstance(place, GatewayPlace):
            return True
        return self.sessions.session_of(user) is not None and isinstance(place, ServerPlace)

    async def _logged_in(self, user: str) -> None:
        """Rooms to resume after a restart, contacts whose presence the user wants."""
        await self.rooms.resume(user)
        session = self.sessions.session_of(user)
        if session is not None:
            await self.accounts.watch_contacts(user, session)

    def _logged_out(self, user: str) -> None:
        """The user went offline: their rooms are left, and nothing is left to resume."""
        self.muc.user_gone(user)
        self.room_avatars.forget(user)
        self.rooms.sync(user)

    def _media_of(self, user: str) -> MediaSource | None:
        session = self.sessions.session_of(user)
        return None if session is None else media_source_of(session)

    def _describe(self, place: Place, requester: JID) -> DiscoInfo | None:
        def room_info(room_place: RoomPlace) -> DiscoInfo:
            identities, features = self.muc.room_disco_info(requester.bare, room_place.room)
            avatar = self.room_avatars.info_form(requester.bare, room_place.room)
            return DiscoInfo(
                tuple(Identity(c, t, n) for c, t, n in identities),
                (*(features or ROOM_FEATURES), *MAM_FEATURES, NS_VCARD),
                () if avatar is None else (avatar,),
            )

        return describe_place(
            place, gateway=self.info, network_name=self.network.name, room_info=room_info
        )


def _logging_failures(
    step: Callable[[str, LegacyEvent], None], user: str, event: LegacyEvent
) -> None:
    """Run one delivery step; a failure is logged, never raised into the plugin."""
    try:
        step(user, event)
    except Exception:
        log.exception("could not deliver %s to %s", type(event).__name__, user)
