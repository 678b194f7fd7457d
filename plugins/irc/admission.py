"""A cap on the IRC connections dialling and registering at once, per server address.

After a restart the gateway reconnects every user together. A server accepts only so many
connections at a time (ngircd's listen backlog is 10): the SYNs beyond are dropped and the
kernel retries them after 1, 3, 7 s, so a herd of thousands takes far longer than letting a
few through at a time, and it looks like an attack to the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Gate:
    semaphore: asyncio.Semaphore
    holders: int = field(default=0)
    """Attempts holding or awaiting the semaphore: the gate is dropped when none is left."""


class ConnectLimiter:
    """At most *limit* attempts in flight to each address; the rest wait their turn."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the connection limit must be at least 1, not {limit}")
        self.limit = limit
        self._gates: dict[str, _Gate] = {}

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        """Hold one of the address's slots from dialling until registration is over."""
        key = address.lower()
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _Gate(asyncio.Semaphore(self.limit))
        gate.holders += 1
        try:
            async with gate.semaphore:
                yield
        finally:
            gate.holders -= 1
            if not gate.holders:
                del self._gates[key]
