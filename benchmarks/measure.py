"""The two ways a one-way path is measured: one message at a time, and a windowed stream.

A path is a `send` function and the `Arrivals` its receiving end reports to. Every body is
unique (a tag and a sequence number), so arrivals are matched without looking at senders,
and a body seen twice is a duplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from benchmarks.stats import Latencies, Rate, latencies, rate

Send = Callable[[str], Awaitable[None]]


class Arrivals:
    """Bodies seen at a receiving end: counts, and futures for the ones awaited."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._listeners: list[Callable[[str], None]] = []

    def arrived(self, body: str) -> None:
        self.counts[body] += 1
        waiter = self._waiting.pop(body, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(time.perf_counter())
        for listener in self._listeners:
            listener(body)

    def expect(self, body: str) -> asyncio.Future[float]:
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[body] = waiter
        return waiter

    def listen(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener` for each arrival until the returned function is called."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


@dataclass(frozen=True)
class Path:
    """One direction between two clients, as the benchmark drives it."""

    send: Send
    arrivals: Arrivals


def bodies(tag: str, count: int) -> list[str]:
    return [f"{tag}-{i:05d}" for i in range(count)]


async def one_at_a_time(path: Path, tag: str, count: int, within: float) -> Latencies:
    """Send each message once the previous one arrived; the delay of each, and the lost."""
    delays: list[float] = []
    lost = 0
    for body in bodies(tag, count):
        arrival = path.arrivals.expect(body)
        sent = time.perf_counter()
        await path.send(body)
        try:
            delays.append(await asyncio.wait_for(arrival, within) - sent)
        except TimeoutError:
            lost += 1
    if not delays:
        raise RuntimeError(f"none of the {count} messages tagged {tag!r} arrived")
    return latencies(delays, lost)


async def windowed(path: Path, tag: str, count: int, window: int, within: float) -> Rate:
    """Send as fast as at most `window` messages are on their way; messages per second.

    The clock runs from the first send to the last arrival. `within` bounds each wait for
    the stream to complete after its last send; what has not arrived by then is lost.
    """
    wanted = bodies(tag, count)
    expected = set(wanted)
    room = asyncio.Semaphore(window)
    done = asyncio.Event()
    delivered = 0
    last_arrival = 0.0

    def on_arrival(body: str) -> None:
        nonlocal delivered, last_arrival
        if body in expected and path.arrivals.counts[body] == 1:
            delivered += 1
            last_arrival = time.perf_counter()
            room.release()
            if delivered == count:
                done.set()

    stop_listening = path.arrivals.listen(on_arrival)
    try:
        start = time.perf_counter()
        for body in wanted:
            await asyncio.wait_for(room.acquire(), within)
            await path.send(body)
        await asyncio.wait_for(done.wait(), within)
    except TimeoutError:
        pass  # the window stayed full: the path stalled; what arrived is what counts
    finally:
        stop_listening()
    return rate(delivered, count, (last_arrival - start) if delivered else 0.0)


@dataclass(frozen=True)
class Burst:
    """A burst seen at one receiving end: distinct bodies, extra copies, and the rate."""

    delivered: int
    lost: int
    duplicated: int
    per_second: float


async def wait_for_burst(
    arrivals: Arrivals, wanted: list[str], started: float, within: float, quiet: float
) -> Burst:
    """Wait until every body arrived, or until nothing new arrived for `quiet` seconds."""
    expected = set(wanted)
    seen = sum(1 for body in expected if arrivals.counts[body])
    last_arrival = started
    progress = asyncio.Event()

    def on_arrival(body: str) -> None:
        nonlocal seen, last_arrival
        if body in expected:
            last_arrival = time.perf_counter()
            seen += arrivals.counts[body] == 1
            progress.set()

    stop_listening = arrivals.listen(on_arrival)
    deadline = time.monotonic() + within
    try:
        while seen < len(expected) and time.monotonic() < deadline:
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(), quiet)
            except TimeoutError:
                break
    finally:
        stop_listening()
    duplicated = sum(arrivals.counts[body] - 1 for body in expected if arrivals.counts[body] > 1)
    elapsed = last_arrival - started
    per_second = seen / elapsed if elapsed > 0 else 0.0
    return Burst(seen, len(expected) - seen, duplicated, per_second)
