"""The asyncio shell around the sans-IO protocol: one TCP/TLS connection to an IRC server.

Writing is where IRC connections die. ngircd, like other servers, drops a client that has
more than 2 KB of unprocessed input ("Receive buffer space exhausted"), and flood limits
drop clients that send too fast. So a line goes out only when both the :class:`TokenBucket`
(the user's ``throttle_limit``) and a byte window allow; one that must wait goes into a
bounded queue, and every later line queues behind it, so order holds. A line that may go
out at once is written at once (no task switch on the message path):

* at most ``window_bytes`` (1 KB by default) may be unacknowledged by the server;
* once half the window is used, the transport sends ``PING :<token>``. Servers handle a
  client's lines in order, so the matching PONG proves every byte before the PING was
  processed, and those bytes leave the window. Our PONGs are not passed on.
* servers refuse PING before registration, so the window starts at RPL_WELCOME (001);
  registration itself is a short lockstep exchange that cannot fill a server's buffer.

A probe left unanswered for ``ack_timeout`` seconds closes the connection: the server is
gone or stuck, and the user should know instead of watching messages pile up.

The socket has TCP_NODELAY, as asyncio gives the sockets it makes itself: with Nagle's
algorithm a line written while the previous one is unacknowledged waits for the server's
delayed ACK, 40 ms on Linux, and after each PONG the server delays that ACK.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import os
import socket
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from bridge.errors import NotConnected, RateLimited
from bridge.flag import Flag
from plugins.irc.identd import IdentUser
from plugins.irc.protocol.message import IrcMessage, LineBuffer, MalformedLine, cmd, parse_line
from plugins.irc.throttle import TokenBucket
from plugins.irc.tls import CertificateRefused, TlsOptions, describe_tls_error

log = logging.getLogger(__name__)

READ_SIZE: Final = 16 * 1024
QUIT_TIMEOUT: Final = 2.0
_PROBE_PREFIX: Final = "xb-window-"


class ConnectFailed(NotConnected):
    """No address and port worked; the text lists why each attempt failed."""


class SendQueueFull(RateLimited):
    """Too many lines are waiting for the server; the caller should slow down."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    port: int
    tls: bool


def endpoints(tls_ports: list[int], ports: list[int]) -> list[Endpoint]:
    """TLS ports first, each list in the order given (as Biboumi tries them)."""
    return [Endpoint(port, True) for port in tls_ports] + [Endpoint(port, False) for port in ports]


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """Where to connect (addresses already resolved through the operator's policy) and how."""

    server_hostname: str
    addresses: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]
    tls: TlsOptions = field(default_factory=TlsOptions)
    connect_timeout: float = 15.0
    window_bytes: int = 1024
    ack_timeout: float = 120.0
    max_queued_lines: int = 10_000
    encoding_out: str = "utf-8"
    fallback_encoding: str = "latin-1"

    def __post_init__(self) -> None:
        if not self.addresses or not self.endpoints:
            raise ValueError(f"no address or port to connect to {self.server_hostname}")
        for address in self.addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address: resolve names first") from None
        if self.window_bytes < 64:
            raise ValueError(f"window_bytes must be at least 64, found {self.window_bytes}")


@dataclass(frozen=True, slots=True)
class Connected:
    """The connection made: which attempt worked, and our local port (for identd)."""

    address: str
    port: int
    tls: bool
    local_port: int


MessageCallback = Callable[[IrcMessage], None]
TextCallback = Callable[[str], None]


class IrcTransport:
    """Connects, reads lines into :class:`IrcMessage` values, writes paced lines, reports closing.

    With *ident*, the connection is registered with identd as soon as the TCP connection
    exists, before any TLS handshake (servers ask right away), and forgotten when it ends.
    ``on_closed`` runs exactly once, after a successful :meth:`connect`. One transport is
    one connection: reconnecting takes a new transport.
    """

    def __init__(
        self,
        options: TransportOptions,
        bucket: TokenBucket,
        *,
        on_message: MessageCallback,
        on_malformed: TextCallback,
        on_closed: TextCallback,
        ident: IdentUser | None = None,
    ) -> None:
        self._options = options
        self._bucket = bucket
        self._on_message = on_message
        self._on_malformed = on_malformed
        self._on_closed = on_closed
        self._ident = ident
        self._ident_key: tuple[int, int] | None = None
        self._queue: deque[bytes] = deque()
        self._queued = Flag()
        self._acknowledged = Flag()
        self._lines = LineBuffer()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._quitting = False
        self._ended = Flag()
        self._window_on = False
        self._in_flight = 0
        self._probe: tuple[str, int] | None = None  # token, bytes it acknowledges
        self._probe_deadline: asyncio.TimerHandle | None = None
        self._probe_numbers = itertools.count(1)
        self._server_error: str | None = None

    @property
    def queued_lines(self) -> int:
        return len(self._queue)

    @property
    def unacknowledged_bytes(self) -> int:
        """Bytes sent that the server has not yet shown it processed."""
        return self._in_flight

    async def connect(self) -> Connected:
        """Try each endpoint on each address in order; :class:`ConnectFailed` if none works."""
        if self._writer is not None:
            raise RuntimeError("this transport already connected once; make a new one")
        failures: list[str] = []
        options = self._options
        for endpoint, address in itertools.product(options.endpoints, options.addresses):
            where = f"{address} port {endpoint.port}{' (TLS)' if endpoint.tls else ''}"
            try:
                async with asyncio.timeout(options.connect_timeout):
                    return await self._open(address, endpoint)
            except TimeoutError:
                failures.append(f"{where}: no answer in {options.connect_timeout:g} s")
            except (ssl.SSLError, CertificateRefused, ValueError) as exc:
                # Never a reason to fall back to plain text: someone may be in the way.
                why = describe_tls_error(exc) if isinstance(exc, ssl.SSLError) else str(exc)
                failures.append(f"{where}: {why}")
                break
            except OSError as exc:
                failures.append(f"{where}: {os.strerror(exc.errno) if exc.errno else exc}")
        raise ConnectFailed(
            f"cannot connect to {self._options.server_hostname}: {'; '.join(failures)}"
        )

    async def _open(self, address: str, endpoint: Endpoint) -> Connected:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.get_running_loop().sock_connect(sock, (address, endpoint.port))
            connected = Connected(address, endpoint.port, endpoint.tls, sock.getsockname()[1])
            self._claim_ident(connected)
            context = self._options.tls.context() if endpoint.tls else None
            reader, writer = await asyncio.open_connection(
                sock=sock,
                ssl=context,
                server_hostname=self._options.server_hostname if endpoint.tls else None,
            )
        except BaseException:
            self._release_ident()
            sock.close()
            raise
        if endpoint.tls:
            ssl_object: ssl.SSLObject | None = writer.get_extra_info("ssl_object")
            try:
                self._options.tls.check_pin(ssl_object.getpeercert(True) if ssl_object else None)
            except CertificateRefused:
                self._release_ident()
                writer.close()
                raise
        self._writer = writer
        self._tasks = [
            asyncio.create_task(self._read_loop(reader), name=f"irc-read {address}"),
            asyncio.create_task(self._write_loop(writer), name=f"irc-write {address}"),
        ]
        return connected

    def _claim_ident(self, connected: Connected) -> None:
        if self._ident is not None:
            self._ident_key = (connected.local_port, connected.port)
            self._ident.registry.add(*self._ident_key, connected.address, self._ident.user_id)

    def _release_ident(self) -> None:
        if self._ident is not None and self._ident_key is not None:
            self._ident.registry.remove(*self._ident_key)
            self._ident_key = None

    def send(self, message: IrcMessage, encoding: str | None = None) -> None:
        """Write *message* (in *encoding*, the connection's by default) now if the window and
        the pacing allow, else queue it; never waits.

        Raises if closed or when the queue is full.
        """
        writer = self._writer
        if self._closed or writer is None:
            raise NotConnected("not connected to the IRC server")
        line = message.to_line(encoding or self._options.encoding_out)
        if self._queue or self._quitting or not self._fits(len(line)) or self._bucket.take():
            self._enqueue(line)
        else:
            self._write(writer, line)

    def _enqueue(self, line: bytes) -> None:
        if len(self._queue) >= self._options.max_queued_lines:
            raise SendQueueFull(
                f"{len(self._queue)} lines are already waiting to be sent to the IRC server;"
                " try again later"
            )
        self._queue.append(line)
        self._queued.set()

    async def close(self, quit_message: str = "") -> None:
        """Say QUIT (ahead of anything still queued) and close; on_closed says we left.

        The server is given a moment to close first: closing a socket with unread input
        resets it, and a reset can destroy the QUIT before the server reads it.
        """
        if self._closed or self._writer is None or self._quitting:
            return
        self._quitting = True
        self._tasks[1].cancel()  # nothing queued may follow the QUIT
        with contextlib.suppress(OSError):
            self._writer.write(cmd("QUIT", quit_message).to_line(self._options.encoding_out))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(QUIT_TIMEOUT):
                await self._ended.wait()
        await self._shut("")

    async def _shut(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        if self._probe_deadline is not None:
            self._probe_deadline.cancel()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(QUIT_TIMEOUT):
                    await self._writer.wait_closed()
        self._queue.clear()
        self._release_ident()
        self._ended.set()
        self._on_closed("the gateway closed the connection" if self._quitting else reason)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(READ_SIZE):
                for raw in self._lines.feed(data):
                    self._receive(raw)
            reason = "the server closed the connection"
            if self._server_error:
                reason += f": {self._server_error}"
        except ssl.SSLError as exc:
            reason = describe_tls_error(exc)
        except ConnectionResetError:
            reason = "the server reset the connection"
        except OSError as exc:
            reason = f"reading from the server failed: {exc.strerror or exc}"
        await self._shut(reason)

    def _receive(self, raw: bytes) -> None:
        try:
            message = parse_line(raw, self._options.fallback_encoding)
        except MalformedLine as exc:
            self._on_malformed(str(exc))
            return
        if message.command == "PONG" and message.param(-1).startswith(_PROBE_PREFIX):
            if self._probe is not None and message.param(-1) == self._probe[0]:
                self._acknowledge(self._probe[1])
            return  # our own probe: nobody else asked for it
        if message.command == "001":
            self._window_on = True
            self._acknowledge(self._in_flight)  # registration was lockstep: all of it is done
        elif message.command == "ERROR":
            self._server_error = message.param(-1)
        try:
            self._on_message(message)
        except Exception:
            log.exception("handling %s from the IRC server failed", message.command)

    def _acknowledge(self, processed: int) -> None:
        self._in_flight = max(0, self._in_flight - processed)
        self._probe = None
        if self._probe_deadline is not None:
            self._probe_deadline.cancel()
            self._probe_deadline = None
        self._acknowledged.set()

    async def _write_loop(self, writer: asyncio.StreamWriter) -> None:
        """Write the queue out, as many lines at a time as the window and the pacing allow."""
        try:
            while True:
                while not self._queue:
                    self._queued.clear()
                    await self._queued.wait()
                await self._wait_for_window(writer, len(self._queue[0]))
                wait = self._bucket.take()  # a slot for the first line, sleeping till one is free
                while wait:
                    await asyncio.sleep(wait)
                    wait = self._bucket.take()
                self._write(writer, self._queue.popleft())
                while self._queue and self._fits(len(self._queue[0])) and not self._bucket.take():
                    self._write(writer, self._queue.popleft())
                await writer.drain()
        except OSError as exc:  # ssl.SSLError included
            await self._shut(f"writing to the server failed: {exc}")

    def _fits(self, size: int) -> bool:
        """*size* more bytes fit the window (a line larger than the window goes out alone)."""
        in_flight = self._in_flight
        return not (self._window_on and in_flight and in_flight + size > self._options.window_bytes)

    async def _wait_for_window(self, writer: asyncio.StreamWriter, size: int) -> None:
        while not self._fits(size):
            self._send_probe(writer)
            self._acknowledged.clear()
            await self._acknowledged.wait()

    def _write(self, writer: asyncio.StreamWriter, line: bytes) -> None:
        """Write *line*; once half the window is unacknowledged, ask the server to show it."""
        writer.write(line)
        if self._window_on:
            self._in_flight += len(line)
            if self._in_flight * 2 >= self._options.window_bytes:
                self._send_probe(writer)

    def _send_probe(self, writer: asyncio.StreamWriter) -> None:
        if self._probe is not None:
            return
        token = f"{_PROBE_PREFIX}{next(self._probe_numbers)}"
        line = cmd("PING", token).to_line()
        self._probe = (token, self._in_flight + len(line))
        self._write(writer, line)
        self._probe_deadline = asyncio.get_running_loop().call_later(
            self._options.ack_timeout, self._probe_unanswered
        )

    def _probe_unanswered(self) -> None:
        reason = f"the server did not answer PING for {self._options.ack_timeout:g} s"
        task = asyncio.create_task(self._shut(reason))
        self._tasks.append(task)
