"""An RFC 1413 ident server, so IRC networks can tell the gateway's users apart.

Many networks put every user of one host under a ``~`` username, and ban or limit them
together. Answering ident queries lets them ban one gateway user instead of the whole
gateway. The answer is an opaque id (a short keyed hash): it identifies a user to the
network without revealing the user's JID.

Only connections the gateway registered get an answer, and only when the query comes from
the host the connection goes to, so nobody else can map our ports to users.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

MAX_QUERY_BYTES: Final = 1000
"""RFC 1413 queries are two port numbers; anything longer is not a query."""

READ_TIMEOUT: Final = 10.0
OPAQUE_ID_LENGTH: Final = 10
"""IRC servers cut usernames at about ten characters (USERLEN)."""

NO_USER: Final = "ERROR : NO-USER"
INVALID_PORT: Final = "ERROR : INVALID-PORT"


def opaque_user_id(key: bytes, owner: str) -> str:
    """A short, stable id for *owner* (e.g. a bare JID) that cannot be reversed without *key*."""
    digest = hmac.new(key, owner.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:OPAQUE_ID_LENGTH]


def _same_host(address: str) -> str:
    """One spelling per host: an IPv4-mapped IPv6 peer counts as the IPv4 address."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


@dataclass(frozen=True, slots=True)
class _Owner:
    peer_ip: str
    user_id: str


class IdentRegistry:
    """Which of the gateway's outgoing connections belongs to which opaque user id."""

    def __init__(self) -> None:
        self._owners: dict[tuple[int, int], _Owner] = {}

    def add(self, local_port: int, remote_port: int, peer_ip: str, user_id: str) -> None:
        """Record a connection from our *local_port* to *peer_ip*:*remote_port*."""
        self._owners[(local_port, remote_port)] = _Owner(_same_host(peer_ip), user_id)

    def remove(self, local_port: int, remote_port: int) -> None:
        self._owners.pop((local_port, remote_port), None)

    def lookup(self, local_port: int, remote_port: int, asking_ip: str) -> str | None:
        """The user id of that connection, if it is ours and *asking_ip* is its peer."""
        owner = self._owners.get((local_port, remote_port))
        if owner is None or owner.peer_ip != _same_host(asking_ip):
            return None
        return owner.user_id

    def __len__(self) -> int:
        return len(self._owners)


@dataclass(frozen=True, slots=True)
class IdentUser:
    """Whom a transport's connections belong to, for the transport to register and forget."""

    registry: IdentRegistry
    user_id: str


def answer(query: str, registry: IdentRegistry, asking_ip: str) -> str | None:
    """The reply line for one query, or None when the query is not two numbers."""
    parts = query.strip().split(",")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        return None
    local_port, remote_port = (int(part) for part in parts)
    pair = f"{local_port} , {remote_port}"
    if not (0 < local_port < 65536 and 0 < remote_port < 65536):
        return f"{pair} : {INVALID_PORT}"
    user_id = registry.lookup(local_port, remote_port, asking_ip)
    if user_id is None:
        return f"{pair} : {NO_USER}"
    return f"{pair} : USERID : UNIX : {user_id}"


class IdentServer:
    """Listens for ident queries; does nothing unless given a port (off by default)."""

    def __init__(
        self,
        registry: IdentRegistry,
        *,
        port: int | None,
        host: str | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self._registry = registry
        self._port = port
        self._host = host
        self._read_timeout = read_timeout
        self._server: asyncio.Server | None = None

    @property
    def bound_port(self) -> int | None:
        """The port listened on (the real one when configured as 0), None when off."""
        if self._server is None or not self._server.sockets:
            return None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        if self._port is None:
            return
        try:
            self._server = await asyncio.start_server(
                self._serve, self._host, self._port, limit=MAX_QUERY_BYTES
            )
        except OSError as exc:
            raise OSError(
                exc.errno, f"identd cannot listen on port {self._port}: {exc.strerror}"
            ) from exc

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asking_ip: str = writer.get_extra_info("peername")[0]
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\n"), self._read_timeout)
            reply = answer(line.decode("ascii", "replace"), self._registry, asking_ip)
            if reply is not None:
                writer.write(reply.encode("ascii") + b"\r\n")
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            log.debug("identd: dropped an incomplete or oversized query from %s", asking_ip)
        except OSError as exc:
            log.debug("identd: connection from %s failed: %s", asking_ip, exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
