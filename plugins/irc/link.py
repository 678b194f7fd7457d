"""One user's connection to one IRC server: connect, register, relay, reconnect, rejoin.

The thin asyncio shell around :class:`Registration` and :class:`IrcClientState`. It owns
one :class:`IrcTransport` at a time; when that connection drops, the user's rooms get
status 333 (through the state's ``lost`` events), and the link dials again with jittered,
capped backoff, then rejoins every channel it was in.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bridge.addressing import ContactAddress
from bridge.errors import LegacyError, NotConnected
from bridge.events import Connected, Disconnected, MessageIn
from bridge.flag import Flag
from bridge.link import Backoff
from bridge.network import EventSink, HostResolver
from plugins.irc.admission import ConnectLimiter
from plugins.irc.client_state import IrcClientState, Output
from plugins.irc.encodings import ChannelEncodings
from plugins.irc.identd import IdentUser
from plugins.irc.protocol.message import IrcMessage, cmd, parse_line
from plugins.irc.protocol.registration import Registration
from plugins.irc.protocol.sasl import Sasl
from plugins.irc.protocol.webirc import WebIrc
from plugins.irc.throttle import TokenBucket
from plugins.irc.tls import TlsOptions
from plugins.irc.transport import IrcTransport, TransportOptions, endpoints

log = logging.getLogger(__name__)

WANTED_CAPS = frozenset(
    {
        "server-time",
        "message-tags",
        "echo-message",
        "multi-prefix",
        "away-notify",
        "account-notify",
        "extended-join",
        "batch",
        "draft/chathistory",
        "chghost",
        "cap-notify",
        "userhost-in-names",
        "invite-notify",
    }
)
REGISTRATION_TIMEOUT = 60.0
END_OF_MOTD = frozenset({"376", "422"})


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Everything needed to dial and register, resolved from presets and user settings."""

    server: str
    address: str
    ports: tuple[int, ...]
    tls_ports: tuple[int, ...]
    tls: TlsOptions
    nick: str
    nick_configured: bool
    """The nick comes from the user's settings: it wins over the nick of a room join."""
    username: str
    realname: str
    password: str | None
    sasl: Sasl | None
    webirc: WebIrc | None
    throttle_limit: int
    encoding_in: str
    encoding_out: str
    after_connect: tuple[str, ...]
    version: str


class IrcLink:
    def __init__(
        self,
        config: LinkConfig,
        *,
        hosts: HostResolver,
        emit: EventSink,
        ident: IdentUser | None,
        backoff: Backoff,
        admission: ConnectLimiter,
    ) -> None:
        self.config = config
        self._admission = admission
        self._hosts = hosts
        self._emit = emit
        self._ident = ident
        self._backoff = backoff
        self.state: IrcClientState | None = None
        self._transport: IrcTransport | None = None
        self._registration: Registration | None = None
        self._registered: asyncio.Future[None] | None = None
        self._closing = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._rejoin: list[tuple[str, str | None]] = []
        self._ever_ready = False
        self.ready = Flag()
        self.on_ready: Callable[[], None] | None = None
        """Told each time the link is ready (again, after a reconnection)."""
        self.encodings = ChannelEncodings()
        self.last_private = -math.inf
        """When (loop time) a private message last went either way."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect and register; raise a bridge.errors exception the user can act on."""
        await self._connect_once()
        self._emit(Connected(self.config.server))

    async def close(self, reason: str) -> None:
        self._closing = True
        self.ready.clear()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._transport is not None:
            await self._transport.close(reason)

    def join_nick(self, requested: str) -> str:
        """The nick to join a channel with: the configured one, if the user set one."""
        if self.config.nick_configured and self.state is not None:
            return self.state.nick
        return requested

    async def _connect_once(self) -> None:
        async with self._admission.slot(self.config.address):
            await self._dial_and_register()
        self._after_registration()

    async def _dial_and_register(self) -> None:
        config = self.config
        addresses = await self._hosts.resolve(config.address, (config.tls_ports or config.ports)[0])
        self._registration = Registration(
            config.nick,
            config.username,
            config.realname,
            password=config.password,
            sasl=config.sasl,
            webirc=config.webirc,
            wanted_caps=WANTED_CAPS,
        )
        self.state = None
        self._registered = asyncio.get_running_loop().create_future()
        self._transport = IrcTransport(
            TransportOptions(
                server_hostname=config.address,
                addresses=tuple(addresses),
                endpoints=tuple(endpoints(list(config.tls_ports), list(config.ports))),
                tls=config.tls,
                encoding_out=config.encoding_out or "utf-8",
                fallback_encoding=config.encoding_in or "latin-1",
            ),
            TokenBucket(rate_per_second=1.0, burst=config.throttle_limit),
            on_message=self._on_message,
            on_malformed=lambda text: log.info("%s sent a malformed line: %s", config.server, text),
            on_closed=self._on_closed,
            ident=self._ident,
        )
        await self._transport.connect()
        for line in self._registration.start():
            self._transport.send(line)
        try:
            async with asyncio.timeout(REGISTRATION_TIMEOUT):
                await self._registered
        except TimeoutError:
            await self._transport.close("registration timed out")
            raise NotConnected(
                f"{config.server} did not finish registration in {REGISTRATION_TIMEOUT:g} s"
            ) from None

    def _after_registration(self) -> None:
        for line in self.config.after_connect:
            self.send_raw(line)
        if self._rejoin and self.state is not None:
            for channel, key in self._rejoin:
                self.run(self.state.join(channel, self.state.nick, key))
            self._rejoin = []
        self._ever_ready = True
        self.ready.set()
        if self.on_ready is not None:
            self.on_ready()

    # ------------------------------------------------------------------ traffic

    def run(self, outputs: Sequence[Output]) -> None:
        """Carry out what the state machine asked: lines to the server, events to the core."""
        for output in outputs:
            if isinstance(output, IrcMessage):
                self.send(output)
            else:
                if _is_private(output):
                    self.note_private()
                self._emit(output)

    def send(self, message: IrcMessage) -> None:
        if self._transport is None:
            raise NotConnected(f"not connected to {self.config.server}")
        self._transport.send(message, self.encodings.encoding_out(message))

    def note_private(self) -> None:
        """A private conversation is going on: the connection is not idle."""
        self.last_private = asyncio.get_running_loop().time()

    def send_raw(self, line: str) -> None:
        """A line the user typed (after-connect commands, chat to the server JID)."""
        try:
            message = parse_line(line.encode())
        except ValueError as error:
            raise LegacyError(f"not an IRC line: {error}") from None
        self.send(message)

    def _on_message(self, message: IrcMessage) -> None:
        try:
            self._receive(self.encodings.decode(message))
        except Exception:
            log.exception("failed to handle a line from %s", self.config.server)

    def _receive(self, message: IrcMessage) -> None:
        registration = self._registration
        if self.state is not None:
            self.run(self.state.receive(message))
            return
        if registration is None:
            return
        for line in registration.receive(message):
            self.send(line)
        if registration.error is not None and self._registered and not self._registered.done():
            self._registered.set_exception(registration.error)
            return
        if message.command == "PING" and registration.done:
            self.send(cmd("PONG", *message.params))
        if registration.done and message.command in END_OF_MOTD:
            self.state = IrcClientState(
                server=self.config.server,
                nick=registration.nick,
                features=registration.features,
                caps=registration.enabled_caps,
                version=self.config.version,
                encoding_fallback=self.config.encoding_in or "latin-1",
            )
            self._registration = None  # the state has what it learnt
            if self._registered is not None and not self._registered.done():
                self._registered.set_result(None)

    # ------------------------------------------------------------------ reconnection

    def _on_closed(self, reason: str) -> None:
        self.ready.clear()
        state, self.state = self.state, None
        if self._registered is not None and not self._registered.done():
            self._registered.set_exception(NotConnected(f"{self.config.server}: {reason}"))
        reconnecting = self._reconnecting is not None and not self._reconnecting.done()
        if self._closing or not self._ever_ready or reconnecting:
            return  # a first connection reports through start(); a retry through its loop
        if state is not None:
            self._rejoin = state.channels()
            self.run(state.lost(reason))
        else:
            self._emit(Disconnected(reason, reconnecting=True, server=self.config.server))
        log.info("connection of %s lost: %s", self.config.server, reason)
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closing:
            delay = self._backoff.delay(attempt)
            attempt += 1
            await asyncio.sleep(delay)
            try:
                await self._connect_once()
            except LegacyError as error:
                log.info("reconnecting to %s failed: %s", self.config.server, error)
                continue
            self._emit(Connected(self.config.server))
            return


def _is_private(event: Output) -> bool:
    """A private message from someone (not a notice, such as a server's or a CTCP reply)."""
    return (
        isinstance(event, MessageIn)
        and isinstance(event.source, ContactAddress)
        and not event.notice
    )
