"""Scripted IRC servers on loopback: the port one listens on, and a resolver sending every IRC
host to 127.0.0.1 for LoginContext."""

from __future__ import annotations

import asyncio


class Loopback:
    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


def port_of(server: asyncio.Server | None) -> int:
    """The port a started test server listens on."""
    assert server is not None, "start the server first"
    port: int = server.sockets[0].getsockname()[1]
    return port
