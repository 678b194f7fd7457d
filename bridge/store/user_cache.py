"""What the store read for one (gateway, user), kept until the next write for that user.

Logins and joins read a user's registration and settings again and again; each read is a
database round trip (several hops to the driver's thread, each waiting for the GIL) for
values that only change when the gateway itself writes them. The cache also lists, once per
gateway, the users who have rows at all: most users who join have none, and need no query.
A table drops a user's entry on each write; a read or listing that raced a write is not kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")

CAPACITY = 20_000
"""Users whose values are kept; the earliest read is dropped first (costing one query)."""


class UserCache(Generic[V]):
    def __init__(
        self,
        *,
        absent: V,
        holders: Callable[[str], Awaitable[Iterable[str]]],
        capacity: int = CAPACITY,
    ) -> None:
        """*absent*: the value of a user without rows; *holders*: the users of a gateway
        who have rows."""
        self._absent = absent
        self._list_holders = holders
        self._capacity = capacity
        self._values: dict[tuple[str, str], V] = {}
        self._holders: dict[str, set[str]] = {}
        self._listing = asyncio.Lock()
        self._writes = 0

    async def get(self, gateway: str, user: str, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or what *load* reads (kept unless a write raced it)."""
        key = (gateway, user)
        try:
            return self._values[key]
        except KeyError:
            pass
        holders = await self._holders_of(gateway)
        if holders is not None and user not in holders:
            return self._absent
        writes = self._writes
        value = await load()
        if writes == self._writes:
            if len(self._values) >= self._capacity:
                del self._values[next(iter(self._values))]
            self._values[key] = value
        return value

    def invalidate(self, gateway: str, user: str) -> None:
        """After a write for the user (committed): the next read goes to the database."""
        self._writes += 1
        self._values.pop((gateway, user), None)
        holders = self._holders.get(gateway)
        if holders is not None:
            holders.add(user)

    async def _holders_of(self, gateway: str) -> set[str] | None:
        """The users of *gateway* with rows, listed once; None while a write races the list."""
        if gateway not in self._holders:
            async with self._listing:
                if gateway not in self._holders:
                    writes = self._writes
                    listed = set(await self._list_holders(gateway))
                    if writes != self._writes:
                        return None
                    self._holders[gateway] = listed
        return self._holders[gateway]
