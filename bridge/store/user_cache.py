"""What the store read for one (gateway, user), kept until the next write for that user.

Logins and joins read a user's registration and settings again and again; each read is a
database round trip (an SQL statement and a hop to the driver's thread) for values that
only change when the gateway itself writes them. The tables drop a user's entry on each
write, and a read that raced a write is not kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

V = TypeVar("V")

Key = tuple[str, str]
"""(gateway, user)"""

CAPACITY = 20_000
"""Users kept; the earliest read is dropped first (a dropped user costs one query)."""


class UserCache(Generic[V]):
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._values: dict[Key, V] = {}
        self._writes = 0

    async def get(self, key: Key, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value of *key*, or what *load* reads (kept unless a write raced it)."""
        try:
            return self._values[key]
        except KeyError:
            pass
        writes = self._writes
        value = await load()
        if writes == self._writes:
            if len(self._values) >= self._capacity:
                del self._values[next(iter(self._values))]
            self._values[key] = value
        return value

    def invalidate(self, key: Key) -> None:
        """After a write for *key* (committed): the next read goes to the database."""
        self._writes += 1
        self._values.pop(key, None)
