"""The IRC network for the core: options, registration, commands, and logins."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from bridge import __version__
from bridge.addressing import AddressGrammar, RoomAddress, ServerAddress
from bridge.errors import AuthFailed, BadRequest, NotConnected
from bridge.link import Backoff
from bridge.network import (
    Capabilities,
    CommandContext,
    HostResolver,
    LoginContext,
    NetworkCommand,
    room_scope,
)
from plugins.irc.admission import ConnectLimiter
from plugins.irc.encodings import ChannelEncoding
from plugins.irc.identd import IdentRegistry, IdentServer, IdentUser, opaque_user_id
from plugins.irc.link import IrcLink, LinkConfig
from plugins.irc.protocol.sasl import Sasl, SaslExternal, SaslPlain
from plugins.irc.protocol.webirc import WebIrc, pseudo_identity
from plugins.irc.session import IrcSession
from plugins.irc.settings import (
    ChannelSettings,
    IrcOptions,
    IrcRegistration,
    NetworkPreset,
    ServerSettings,
)
from plugins.irc.tls import TlsOptions

WEBIRC_SCOPE = "webirc"
WEBIRC_GATEWAY = "xmpp-bridge"


def server_scope(server: str) -> str:
    return f"server:{server.lower()}"


class NoFields(BaseModel):
    """A command that asks nothing."""


class WebIrcKey(BaseModel):
    """The user's own random key for their WebIRC pseudo-address: stable across restarts,
    and unknown to the IRC network, which therefore cannot test guessed JIDs against it."""

    key: SecretStr


class IrcNetwork:
    name = "irc"
    capabilities = Capabilities(needs_registration=False)
    registration_form = IrcRegistration

    def __init__(self, options: Mapping[str, Any]) -> None:
        try:
            self.options = IrcOptions.model_validate(dict(options))
        except ValidationError as error:
            raise ValueError(str(error)) from None
        self.grammar = AddressGrammar(room_prefixes="#&", fixed_server=self.options.fixed_server)
        self.commands = (
            NetworkCommand(
                node="configure",
                name="Configure this IRC server",
                form=ServerSettings,
                where="server",
                run=self._configure,
                prefill=self._current_settings,
            ),
            NetworkCommand(
                node="get-irc-connection-info",
                name="Connection information",
                form=NoFields,
                where="server",
                run=self._connection_info,
            ),
        )
        self.server_registration: NetworkCommand | None = self.commands[0]
        self.room_settings: type[BaseModel] | None = ChannelSettings
        self._ident_registry = IdentRegistry()
        self._ident_key = os.urandom(32)
        self._identd = IdentServer(self._ident_registry, port=self.options.identd_port)
        self._identd_started = False
        self._backoff = Backoff(first=1.0, cap=self.options.reconnect_cap, jitter=0.3)
        self._admission = ConnectLimiter(self.options.connecting_per_server)

    async def check_registration(
        self, user: str, form: BaseModel, *, hosts: HostResolver, previous: BaseModel | None
    ) -> BaseModel:
        return form

    async def remove_registration(
        self, user: str, settings: BaseModel | None, hosts: HostResolver
    ) -> None:
        """Nothing to undo: the network keeps no account for the gateway."""

    async def login(self, context: LoginContext) -> IrcSession:
        if not self._identd_started:
            self._identd_started = True
            await self._identd.start()
        ident = (
            IdentUser(self._ident_registry, opaque_user_id(self._ident_key, context.user))
            if self.options.identd_port
            else None
        )

        def open_link(server: str, nick: str) -> asyncio.Task[IrcLink]:
            return asyncio.get_running_loop().create_task(
                self._open_link(context, server, nick, ident)
            )

        async def channel_encoding(room: RoomAddress) -> ChannelEncoding:
            scope = room_scope(self.grammar.format(room))
            stored = await context.store.load(scope, ChannelSettings)
            if stored is None:
                return ChannelEncoding()
            return ChannelEncoding(stored.encoding_in, stored.encoding_out)

        return IrcSession(
            open_link,
            channel_encoding=channel_encoding,
            idle_grace=self.options.idle_server_grace,
        )

    async def _open_link(
        self, context: LoginContext, server: str, nick: str, ident: IdentUser | None
    ) -> IrcLink:
        settings = await self._settings(context.store, server)
        defaults = context.settings if isinstance(context.settings, IrcRegistration) else None
        config = self._link_config(server, settings, defaults, nick or context.user.split("@")[0])
        preset = self._preset(server)
        if preset is not None and preset.webirc_password is not None:
            config = replace(config, webirc=await self._webirc(context, preset))
        link = IrcLink(
            config,
            hosts=context.hosts,
            emit=context.emit,
            ident=ident,
            backoff=self._backoff,
            admission=self._admission,
        )
        await link.start()
        return link

    def _preset(self, server: str) -> NetworkPreset | None:
        return self.options.networks.get(server) or self.options.networks.get(server.lower())

    async def _settings(self, store: Any, server: str) -> ServerSettings:
        stored: ServerSettings | None = await store.load(server_scope(server), ServerSettings)
        if stored is not None:
            return stored
        preset = self._preset(server)
        if preset is None:
            return ServerSettings()
        return ServerSettings(
            address=preset.address,
            ports=[str(p) for p in preset.ports],
            tls_ports=[str(p) for p in preset.tls_ports],
            verify_cert=preset.verify_cert,
            fingerprint=preset.fingerprint,
            throttle_limit=preset.throttle_limit,
        )

    async def _webirc(self, context: LoginContext, preset: NetworkPreset) -> WebIrc:
        """WEBIRC with the user's pseudo-address: one per user, revealing nothing of the JID."""
        assert preset.webirc_password is not None
        stored = await context.store.load(WEBIRC_SCOPE, WebIrcKey)
        if stored is None:
            stored = WebIrcKey(key=SecretStr(secrets.token_hex(32)))
            await context.store.save(WEBIRC_SCOPE, stored)
        hostname, ip = pseudo_identity(
            bytes.fromhex(stored.key.get_secret_value()),
            context.user,
            preset.webirc_network(),
            preset.webirc_domain,
        )
        return WebIrc(preset.webirc_password.get_secret_value(), WEBIRC_GATEWAY, hostname, ip)

    def _link_config(
        self,
        server: str,
        settings: ServerSettings,
        defaults: IrcRegistration | None,
        fallback_nick: str,
    ) -> LinkConfig:
        preset = self._preset(server)
        configured_nick = settings.nick or (defaults.nick if defaults else "")
        nick = configured_nick or fallback_nick
        username = settings.username or (defaults.username if defaults else "") or nick
        tls = TlsOptions(verify=settings.verify_cert, fingerprint=settings.fingerprint or None)
        ports = tuple(int(p) for p in settings.ports)
        sasl: Sasl | None = None
        if settings.sasl_mechanism == "EXTERNAL":
            tls, ports = _with_client_certificate(server, tls, preset, settings), ()
            sasl = SaslExternal()
        elif settings.sasl_password.get_secret_value():
            sasl = SaslPlain(nick, settings.sasl_password.get_secret_value())
        return LinkConfig(
            server=server,
            address=settings.address or (preset.address if preset else "") or server,
            ports=ports,
            tls_ports=tuple(int(p) for p in settings.tls_ports),
            tls=tls,
            nick=nick,
            nick_configured=bool(configured_nick),
            username=username,
            realname=settings.realname
            or (defaults.realname if defaults else "")
            or self.options.realname,
            password=settings.server_password.get_secret_value() or None,
            sasl=sasl,
            webirc=None,
            throttle_limit=settings.throttle_limit,
            encoding_in=settings.encoding_in,
            encoding_out=settings.encoding_out,
            after_connect=tuple(settings.after_connect_commands),
            version=f"xmpp-bridge {__version__}",
        )

    async def _current_settings(self, context: CommandContext) -> BaseModel | None:
        return await self._settings(context.store, _server(context))

    async def _configure(self, context: CommandContext, form: BaseModel) -> str:
        assert isinstance(form, ServerSettings)
        server = _server(context)
        await context.store.save(server_scope(server), form)
        return f"Saved for {server}; used from the next connection to it."

    async def _connection_info(self, context: CommandContext, form: BaseModel) -> str:
        server = _server(context)
        session = context.session
        link = session.existing(server) if isinstance(session, IrcSession) else None
        if link is None or link.state is None:
            raise NotConnected(f"You are not connected to {server}.")
        channels = ", ".join(name for name, _key in link.state.channels()) or "none"
        return f"Connected to {server} as {link.state.nick}; channels: {channels}."


def _with_client_certificate(
    server: str, tls: TlsOptions, preset: NetworkPreset | None, settings: ServerSettings
) -> TlsOptions:
    """TLS options presenting the operator's client certificate, for SASL EXTERNAL."""
    if preset is None or preset.client_certfile is None:
        raise AuthFailed(
            f"SASL EXTERNAL needs a client certificate, and the gateway's operator has set none"
            f" for {server}: choose PLAIN with a SASL password in the server's configure"
        )
    if not settings.tls_ports:
        raise AuthFailed(
            f"SASL EXTERNAL presents a certificate over TLS, but no TLS port is set for {server}:"
            " add one in 'TLS ports'"
        )
    return replace(tls, certfile=preset.client_certfile, keyfile=preset.client_keyfile)


def _server(context: CommandContext) -> str:
    if not isinstance(context.target, ServerAddress):
        raise BadRequest("Run this command on an IRC server's JID (server@gateway).")
    return context.target.server


def create(options: Mapping[str, Any]) -> IrcNetwork:
    return IrcNetwork(options)
