"""nio clients that reach homeservers only through the operator's host policy.

Every homeserver the gateway contacts goes through the policy first, and the HTTP session
resolves names only through it, so no user can point the gateway at an address the
operator keeps private (unless `hosts.allow_private` says so).
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout, TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from nio import AsyncClient, AsyncClientConfig

from bridge.network import HostResolver

REQUEST_TIMEOUT = 30.0


class PolicyResolver(AbstractResolver):
    """aiohttp's resolver for one client: names resolve only to addresses the policy allows."""

    def __init__(self, hosts: HostResolver) -> None:
        self._hosts = hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in await self._hosts.resolve(host, port)
        ]

    async def close(self) -> None:
        return None


async def open_client(
    homeserver: str, user_id: str, hosts: HostResolver, *, device_id: str = ""
) -> Any:
    """A nio client for *homeserver*, after the host policy allowed it (else its error)."""
    parts = urlsplit(homeserver)
    host = parts.hostname or ""
    await hosts.resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    config = AsyncClientConfig(
        max_timeouts=0,
        max_limit_exceeded=3,
        request_timeout=REQUEST_TIMEOUT,
        encryption_enabled=False,
        store_sync_tokens=False,
    )
    client = AsyncClient(homeserver, user_id, device_id, config=config)
    client.client_session = ClientSession(
        connector=TCPConnector(resolver=PolicyResolver(hosts)),
        timeout=ClientTimeout(total=REQUEST_TIMEOUT),
    )
    return client
