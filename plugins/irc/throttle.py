"""Outgoing line pacing, so a burst from XMPP never trips an IRC server's flood limit.

The semantics follow Biboumi's ``throttle_limit``, so users moving over keep their
setting: that many lines go out at once, then one line per ``1 / rate_per_second``
seconds; a limit of -1 turns pacing off. A limit of 0 means no burst at all: lines never
go out faster than the steady rate.

The bucket is a pure value over an injected clock: tests drive the clock by hand, and the
transport asks how long to wait instead of the bucket sleeping itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

UNLIMITED: Final = -1
"""The ``throttle_limit`` (burst) that turns pacing off."""

DEFAULT_THROTTLE_LIMIT: Final = 10
"""Biboumi's default: ten lines at once, then one a second."""

_EPSILON: Final = 1e-9
"""A sleep of exactly the wait it was told may still refill a hair short of one slot."""


class TokenBucket:
    """A burst of *burst* lines, then *rate_per_second* lines a second (burst -1: no limit)."""

    def __init__(
        self,
        rate_per_second: float = 1.0,
        burst: int = DEFAULT_THROTTLE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < UNLIMITED:
            raise ValueError(
                f"throttle limit must be -1 (unlimited), 0 or more lines, found {burst}"
            )
        if rate_per_second <= 0:
            raise ValueError(f"rate must be more than 0 lines per second, found {rate_per_second}")
        self._unlimited = burst == UNLIMITED
        self._capacity = float(max(burst, 1))
        self._rate = rate_per_second
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock()

    @property
    def unlimited(self) -> bool:
        return self._unlimited

    def take(self) -> float:
        """Take the slot for one line if one is free now (0.0); else how many seconds until
        one is, taking nothing: a sender that finds the queue empty writes at once."""
        if self._unlimited:
            return 0.0
        self._refill()
        if self._tokens >= 1.0 - _EPSILON:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
