"""Read-outs of a measured server process (ours or Biboumi) that scenarios share."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

SETTLE_STEP = 0.25
SETTLE_TOLERANCE = 0.01
SETTLE_LIMIT = 10.0


class MeasuredProcess(Protocol):
    """A gateway child the harness can restart and read memory and CPU of."""

    async def start(self) -> float: ...
    async def stop(self) -> None: ...
    def rss_bytes(self) -> int: ...
    def cpu_seconds(self) -> float: ...


async def settled_rss(process: MeasuredProcess) -> int:
    """Resident memory once it stopped moving: two readings a step apart within 1 %.

    Right after a burst of work a process is still finishing it (and an allocator may still
    be returning memory), so a single reading would measure the moment, not the state.
    """
    previous = process.rss_bytes()
    deadline = time.monotonic() + SETTLE_LIMIT
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_STEP)  # a sampling interval, not a wait for an outcome
        current = process.rss_bytes()
        if abs(current - previous) <= SETTLE_TOLERANCE * previous:
            return current
        previous = current
    return previous
