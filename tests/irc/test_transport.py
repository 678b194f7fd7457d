"""The IRC transport against the real ngircd, and against small misbehaving servers."""

import asyncio
import datetime
import hashlib
import re
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bridge.devservers import Ngircd
from bridge.devservers.ports import free_port
from bridge.errors import NotConnected
from plugins.irc.identd import IdentRegistry, IdentUser
from plugins.irc.protocol.message import IrcMessage, cmd
from plugins.irc.protocol.registration import Registration
from plugins.irc.throttle import TokenBucket
from plugins.irc.tls import TlsOptions
from plugins.irc.transport import (
    ConnectFailed,
    Endpoint,
    IrcTransport,
    SendQueueFull,
    TransportOptions,
    endpoints,
)
from tests.irc.loopback import port_of
from tests.waiting import wait_until

WELCOME = b":fake.test 001 me :Welcome\r\n"
Hashed = Any  # hashlib's hash objects have no public type
PING_TOKEN = re.compile(rb"PING :?(\S+)\r\n")


@dataclass
class Client:
    """A transport and everything it reported."""

    transport: IrcTransport
    messages: list[IrcMessage] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def client(
    ports: list[Endpoint],
    *,
    tls: TlsOptions | None = None,
    bucket: TokenBucket | None = None,
    react: Callable[[IrcTransport, IrcMessage], None] | None = None,
    ident: IdentUser | None = None,
    **options: float,
) -> Client:
    """A transport whose reports are recorded; *react* answers messages as a session would."""
    holder: list[Client] = []

    def on_message(message: IrcMessage) -> None:
        holder[0].messages.append(message)
        if react is not None:
            react(holder[0].transport, message)

    transport = IrcTransport(
        TransportOptions(
            "localhost",
            ("127.0.0.1",),
            tuple(ports),
            tls=tls or TlsOptions(),
            **options,  # type: ignore[arg-type]
        ),
        bucket or TokenBucket(burst=-1),
        on_message=on_message,
        on_malformed=lambda text: holder[0].malformed.append(text),
        on_closed=lambda reason: holder[0].closed.append(reason),
        ident=ident,
    )
    holder.append(Client(transport))
    return holder[0]


class FakeServer:
    """One-connection IRC server: greets, records what it receives, may answer PINGs."""

    def __init__(self, greeting: bytes = WELCOME, context: ssl.SSLContext | None = None) -> None:
        self.greeting = greeting
        self.context = context
        self.answer_pings = True
        self.received = bytearray()
        self.peer_port = 0
        self.peer_certificate: bytes | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return port_of(self._server)

    async def __aenter__(self) -> "FakeServer":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        if self.writer is not None:
            self.writer.close()
        self._server.close()

    def pings(self) -> list[bytes]:
        return PING_TOKEN.findall(bytes(self.received))

    def pong(self, token: bytes) -> None:
        assert self.writer is not None
        self.writer.write(b":fake.test PONG fake.test :" + token + b"\r\n")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.peer_port = writer.get_extra_info("peername")[1]
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.peer_certificate = ssl_object.getpeercert(True)
        writer.write(self.greeting)
        answered = 0
        while data := await reader.read(65536):
            self.received += data
            if b"QUIT" in data:
                writer.write(b"ERROR :Closing link (Quit)\r\n")
                writer.close()
                return
            pings = self.pings()
            if self.answer_pings:
                for token in pings[answered:]:
                    self.pong(token)
            answered = len(pings)


def plain(server: FakeServer) -> list[Endpoint]:
    return [Endpoint(server.port, tls=False)]


# --- against the real ngircd --------------------------------------------------------------


async def test_300_long_lines_in_a_row_arrive_complete_in_order_within_the_window(
    ngircd: Ngircd,
) -> None:
    registration = Registration("flooder", "flooder", "Flood Test")
    worst_window: list[int] = [0]

    def react(transport: IrcTransport, message: IrcMessage) -> None:
        worst_window[0] = max(worst_window[0], transport.unacknowledged_bytes)
        for answer in registration.receive(message):
            transport.send(answer)

    sender = client([Endpoint(ngircd.port, tls=False)], react=react, window_bytes=1024)
    await sender.transport.connect()
    for line in registration.start():
        sender.transport.send(line)
    await wait_until(lambda: registration.done, message="registered")
    texts = [f"{number:03d} " + "x" * 370 for number in range(300)]
    for text in texts:
        sender.transport.send(cmd("PRIVMSG", registration.nick, text))
    assert len(cmd("PRIVMSG", registration.nick, texts[0]).to_line()) >= 390

    def echoed() -> list[str]:
        return [m.param(1) for m in sender.messages if m.command == "PRIVMSG"]

    await wait_until(lambda: len(echoed()) == 300 or bool(sender.closed), message="all lines back")
    assert sender.closed == []
    assert echoed() == texts
    assert worst_window[0] <= 1024 + 64
    await sender.transport.close("done")
    assert sender.closed == ["the gateway closed the connection"]


# --- the byte window -----------------------------------------------------------------------


async def test_a_server_that_has_not_processed_our_lines_never_holds_more_than_the_window() -> None:
    async with FakeServer() as server:
        server.answer_pings = False
        sender = client(plain(server), window_bytes=1024)
        await sender.transport.connect()
        await wait_until(lambda: bool(sender.messages), message="welcome")
        lines = [cmd("PRIVMSG", "#c", f"{n:02d} " + "y" * 380) for n in range(20)]
        for line in lines:
            sender.transport.send(line)
        await wait_until(lambda: len(server.pings()) == 1, message="first probe")
        assert len(server.received) <= 1024 + 64
        assert sender.transport.queued_lines == 18  # the writer waits for the PONG
        server.pong(server.pings()[0])
        await wait_until(lambda: len(server.pings()) == 2, message="second probe")
        assert sender.transport.queued_lines == 16
        server.answer_pings = True
        server.pong(server.pings()[1])
        await wait_until(lambda: sender.transport.queued_lines == 0, message="queue drained")
        await wait_until(
            lambda: bytes(server.received).count(b"PRIVMSG") == 20, message="all lines"
        )
        received = [line for line in bytes(server.received).split(b"\r\n") if b"PRIVMSG" in line]
        assert received == [line.to_line().rstrip(b"\r\n") for line in lines]
        assert not any(m.command == "PONG" for m in sender.messages)  # our probes stay ours
        await sender.transport.close()


async def test_a_server_that_stops_answering_is_given_up_with_a_reason() -> None:
    async with FakeServer() as server:
        server.answer_pings = False
        sender = client(plain(server), window_bytes=256, ack_timeout=0.3)
        await sender.transport.connect()
        await wait_until(lambda: bool(sender.messages), message="welcome")
        sender.transport.send(cmd("PRIVMSG", "#c", "z" * 300))
        await wait_until(lambda: bool(sender.closed), message="closed")
        assert sender.closed == ["the server did not answer PING for 0.3 s"]


async def test_send_never_waits_and_a_full_queue_says_so() -> None:
    async with FakeServer() as server:
        slow = TokenBucket(rate_per_second=0.001, burst=0)
        sender = client(plain(server), bucket=slow, max_queued_lines=5)
        await sender.transport.connect()
        for number in range(6):  # the first goes out at once, five wait for the bucket
            sender.transport.send(cmd("PRIVMSG", "#c", str(number)))
        assert sender.transport.queued_lines == 5
        with pytest.raises(SendQueueFull, match="lines are already waiting"):
            sender.transport.send(cmd("PRIVMSG", "#c", "one too many"))
        await sender.transport.close("see you")
        await wait_until(lambda: b"QUIT :see you" in server.received, message="quit")
        assert b"PRIVMSG #c 0\r\n" in server.received
        assert b"PRIVMSG #c 5" not in server.received  # QUIT went ahead of the queue


async def test_a_line_that_may_go_is_written_at_once_without_nagle_delays() -> None:
    async with FakeServer() as server:
        sender = client(plain(server))
        await sender.transport.connect()
        await wait_until(lambda: bool(sender.messages), message="welcome")
        sender.transport.send(cmd("PRIVMSG", "#c", "now"))
        assert sender.transport.queued_lines == 0  # written, not left for a writer task
        await wait_until(lambda: b"PRIVMSG #c now" in server.received, message="line")
        # Nagle's algorithm would hold a line behind an unacknowledged one for the server's
        # delayed ACK (40 ms), as happens after every PONG to a window probe.
        raw: socket.socket = sender.transport._writer.get_extra_info("socket")  # type: ignore[union-attr]
        assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        await sender.transport.close()


# --- closing ---------------------------------------------------------------------------------


async def test_lines_before_a_close_mid_line_are_delivered_and_the_close_is_reported() -> None:
    async with FakeServer(WELCOME + b"PING :one\r\n:fake.test NOTICE me :cut sh") as server:
        receiver = client(plain(server))
        await receiver.transport.connect()
        await wait_until(lambda: len(receiver.messages) == 2, message="two lines")
        assert server.writer is not None
        server.writer.close()
        await wait_until(lambda: bool(receiver.closed), message="closed")
        assert [m.command for m in receiver.messages] == ["001", "PING"]
        assert receiver.closed == ["the server closed the connection"]


async def test_the_servers_error_text_becomes_the_reason() -> None:
    async with FakeServer(b"ERROR :Closing link: banned (K-lined)\r\n") as server:
        receiver = client(plain(server))
        await receiver.transport.connect()
        await wait_until(lambda: bool(receiver.messages), message="error line")
        assert server.writer is not None
        server.writer.close()
        await wait_until(lambda: bool(receiver.closed), message="closed")
        assert receiver.closed == [
            "the server closed the connection: Closing link: banned (K-lined)"
        ]


async def test_a_reset_connection_is_reported_as_such() -> None:
    async with FakeServer() as server:
        receiver = client(plain(server))
        await receiver.transport.connect()
        await wait_until(lambda: bool(receiver.messages), message="welcome")
        assert server.writer is not None
        raw: socket.socket = server.writer.get_extra_info("socket")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        server.writer.transport.abort()
        await wait_until(lambda: bool(receiver.closed), message="closed")
        assert receiver.closed == ["the server reset the connection"]
        with pytest.raises(NotConnected, match="not connected"):
            receiver.transport.send(cmd("PRIVMSG", "#c", "too late"))


async def test_malformed_lines_are_reported_and_skipped() -> None:
    garbage = WELCOME + b":only.a.source\r\n@\r\n:fake.test NOTICE me :still here\r\n"
    async with FakeServer(garbage) as server:
        receiver = client(plain(server))
        await receiver.transport.connect()
        await wait_until(lambda: len(receiver.messages) == 2, message="good lines")
        assert receiver.messages[1].param(1) == "still here"
        assert len(receiver.malformed) == 2
        assert receiver.closed == []
        await receiver.transport.close()
        assert receiver.closed == ["the gateway closed the connection"]


# --- connecting, TLS ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    certfile: Path
    keyfile: Path
    der: bytes


def make_certificate(directory: Path, name: str) -> Certificate:
    """A self-signed certificate for *name* (also valid for 127.0.0.1), written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / f"{name}.crt", directory / f"{name}.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(certfile, keyfile, certificate.public_bytes(serialization.Encoding.DER))


@pytest.fixture
def server_certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path, "localhost")


def server_context(certificate: Certificate, client_ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.certfile, certificate.keyfile)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in digest)


@pytest.fixture
async def tls_server(server_certificate: Certificate) -> AsyncIterator[FakeServer]:
    async with FakeServer(context=server_context(server_certificate)) as server:
        yield server


def tls(server: FakeServer) -> list[Endpoint]:
    return [Endpoint(server.port, tls=True)]


async def test_a_self_signed_certificate_is_refused_by_default_with_the_reason(
    tls_server: FakeServer,
) -> None:
    with pytest.raises(ConnectFailed) as refused:
        await client(tls(tls_server)).transport.connect()
    assert "not trusted" in refused.value.text and "self-signed" in refused.value.text
    assert "pin its fingerprint" in refused.value.text


@pytest.mark.parametrize("digest", [hashlib.sha256, hashlib.sha1])
async def test_a_pinned_fingerprint_is_accepted_instead_of_ca_verification(
    tls_server: FakeServer,
    server_certificate: Certificate,
    digest: Callable[[bytes], "hashlib._Hash"],
) -> None:
    pin = colon_hex(digest(server_certificate.der).digest())
    receiver = client(tls(tls_server), tls=TlsOptions(fingerprint=pin))
    connected = await receiver.transport.connect()
    assert connected.tls
    await wait_until(lambda: bool(receiver.messages), message="welcome over TLS")
    await receiver.transport.close()


async def test_a_wrong_fingerprint_is_refused(
    tls_server: FakeServer, server_certificate: Certificate
) -> None:
    wrong = hashlib.sha256(server_certificate.der + b"x").hexdigest()
    with pytest.raises(ConnectFailed, match="not the pinned one"):
        await client(tls(tls_server), tls=TlsOptions(fingerprint=wrong)).transport.connect()


def test_a_fingerprint_that_is_no_hash_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        TlsOptions(fingerprint="12:34")


async def test_a_client_certificate_is_presented_for_sasl_external(
    tmp_path: Path, server_certificate: Certificate
) -> None:
    mine = make_certificate(tmp_path, "gateway-user")
    context = server_context(server_certificate, client_ca=mine.certfile)
    pin = hashlib.sha256(server_certificate.der).hexdigest()
    options = TlsOptions(fingerprint=pin, certfile=mine.certfile, keyfile=mine.keyfile)
    async with FakeServer(context=context) as server:
        receiver = client(tls(server), tls=options)
        await receiver.transport.connect()
        await wait_until(lambda: bool(receiver.messages), message="welcome")
        assert server.peer_certificate == mine.der
        await receiver.transport.close()


async def test_identd_knows_the_connection_from_before_tls_until_it_closes(
    tls_server: FakeServer, server_certificate: Certificate
) -> None:
    registry = IdentRegistry()
    pin = TlsOptions(fingerprint=hashlib.sha256(server_certificate.der).hexdigest())
    receiver = client(tls(tls_server), tls=pin, ident=IdentUser(registry, "abcdefghij"))
    connected = await receiver.transport.connect()
    await wait_until(lambda: bool(receiver.messages), message="welcome")
    assert connected.local_port == tls_server.peer_port
    assert registry.lookup(connected.local_port, tls_server.port, "127.0.0.1") == "abcdefghij"
    await receiver.transport.close()
    assert len(registry) == 0
    wrong = TlsOptions(fingerprint=hashlib.sha256(b"another").hexdigest())
    with pytest.raises(ConnectFailed):
        await client(tls(tls_server), tls=wrong, ident=IdentUser(registry, "x")).transport.connect()
    assert len(registry) == 0  # a failed attempt leaves nothing behind


async def test_tls_ports_are_tried_first_then_plain_ones(tls_server: FakeServer) -> None:
    closed_port = free_port()
    async with FakeServer() as plain_server:
        receiver = client(endpoints([closed_port], [plain_server.port]))
        connected = await receiver.transport.connect()
        assert (connected.port, connected.tls) == (plain_server.port, False)
        await receiver.transport.close()
    pin = TlsOptions(fingerprint=hashlib.sha256(b"").hexdigest())
    assert endpoints([1, 2], [3]) == [Endpoint(1, True), Endpoint(2, True), Endpoint(3, False)]
    async with FakeServer() as plain_server:
        receiver = client(endpoints([tls_server.port], [plain_server.port]), tls=pin)
        with pytest.raises(ConnectFailed, match="not the pinned one") as refused:
            await receiver.transport.connect()
        assert f"port {plain_server.port}" not in refused.value.text  # no silent downgrade


async def test_when_nothing_answers_every_attempt_is_named() -> None:
    first, second = free_port(), free_port()
    with pytest.raises(ConnectFailed) as refused:
        await client(endpoints([first], [second]), connect_timeout=2).transport.connect()
    assert refused.value.text == (
        f"cannot connect to localhost: 127.0.0.1 port {first} (TLS): Connection refused;"
        f" 127.0.0.1 port {second}: Connection refused"
    )
