"""Archive writes off the message path: buffer in memory, write in batches in the background.

A message relayed between XMPP and a legacy network must never wait for the database, so
:meth:`ArchiveWriter.append` only puts the message in a bounded buffer; a background task
writes the buffer every ``interval`` seconds, or as soon as ``batch_size`` messages wait,
one transaction per batch.

When the buffer is full (the database is down or slower than the traffic) the *oldest*
buffered message is dropped and counted in :attr:`ArchiveWriter.dropped`: the messages
people are most likely to look for, the recent ones, are kept, and memory stays bounded.
A failed write is put back in front of the buffer and retried after ``retry_delay``; the
archive skips messages it already holds, so a retry never duplicates one.

Reads that must not miss a message just said go through the writer: :meth:`recent` merges
the buffered messages into what the database returns. A MAM query pages through the
database, so it awaits :meth:`flush` first (which writes what was buffered before it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bridge.store.archive import ArchivedMessage

log = logging.getLogger(__name__)


class ArchiveBackend(Protocol):
    """What the writer needs of :class:`bridge.store.archive.Archive`."""

    async def append(self, messages: Sequence[ArchivedMessage]) -> None: ...

    async def recent(
        self,
        gateway: str,
        user: str,
        conversation: str,
        *,
        limit: int,
        since: datetime | None = None,
    ) -> list[ArchivedMessage]: ...


class ArchiveWriter:
    """Buffered, batched writer in front of the store's :class:`~bridge.store.archive.Archive`."""

    def __init__(
        self,
        archive: ArchiveBackend,
        *,
        capacity: int = 10_000,
        batch_size: int = 200,
        interval: float = 0.05,
        retry_delay: float = 1.0,
    ) -> None:
        if capacity < batch_size or batch_size < 1:
            raise ValueError(f"need 1 <= batch_size ({batch_size}) <= capacity ({capacity})")
        self._archive = archive
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = interval
        self._retry_delay = retry_delay
        self._pending: deque[ArchivedMessage] = deque()
        self._in_flight: tuple[ArchivedMessage, ...] = ()
        self._has_pending = asyncio.Event()
        self._batch_ready = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped = 0
        """Messages dropped because the buffer was full (a metric: should stay 0)."""
        self.write_failures = 0
        """Batch writes that failed and were retried (a metric)."""

    @property
    def buffered(self) -> int:
        """Messages not yet written."""
        return len(self._pending) + len(self._in_flight)

    def append(self, message: ArchivedMessage) -> None:
        """Queue *message* for the archive; never waits, drops the oldest when full."""
        if self._closed:
            raise RuntimeError("the archive writer is closed")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._write_continuously(), name="archive-writer"
            )
        self._enqueue((message,), at_front=False)

    async def flush(self) -> None:
        """Write every message appended before this call."""
        for _ in range(math.ceil(self.buffered / self._batch_size)):
            await self._write_batch()

    async def close(self) -> None:
        """Stop the background task and write everything still buffered."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._pending:
            await self._write_batch()

    async def recent(
        self,
        gateway: str,
        user: str,
        conversation: str,
        *,
        limit: int,
        since: datetime | None = None,
    ) -> list[ArchivedMessage]:
        """Like ``Archive.recent``, including messages not written yet."""
        # Look at the buffer before the database: a message leaves the buffer only once its
        # batch is committed, so each message is seen in one place or the other (or both).
        buffered = [
            message
            for message in (*self._in_flight, *self._pending)
            if (message.gateway, message.user, message.conversation)
            == (gateway, user, conversation)
            and (since is None or message.when >= since)
        ]
        stored = await self._archive.recent(gateway, user, conversation, limit=limit, since=since)
        known = {message.stanza_id for message in stored}
        merged = stored + [message for message in buffered if message.stanza_id not in known]
        merged.sort(key=lambda message: message.when)
        return merged[-limit:] if limit > 0 else []

    async def _write_continuously(self) -> None:
        while True:
            await self._has_pending.wait()
            if len(self._pending) < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._batch_ready.wait(), self._interval)
            try:
                await self._write_batch()
            except Exception:
                log.warning(
                    "archive write failed; retrying in %.1f s", self._retry_delay, exc_info=True
                )
                await asyncio.sleep(self._retry_delay)

    async def _write_batch(self) -> None:
        async with self._write_lock:
            count = min(self._batch_size, len(self._pending))
            if count == 0:
                return
            self._in_flight = tuple(self._pending.popleft() for _ in range(count))
            self._update_signals()
            try:
                await self._archive.append(self._in_flight)
            except BaseException:
                self.write_failures += 1
                self._enqueue(self._in_flight, at_front=True)
                raise
            finally:
                self._in_flight = ()

    def _enqueue(self, messages: Iterable[ArchivedMessage], *, at_front: bool) -> None:
        if at_front:
            self._pending.extendleft(reversed(tuple(messages)))
        else:
            self._pending.extend(messages)
        overflow = len(self._pending) - self._capacity
        for _ in range(max(overflow, 0)):
            self._pending.popleft()
        if overflow > 0:
            self._note_drops(overflow)
        self._update_signals()

    def _note_drops(self, count: int) -> None:
        before = self.dropped
        self.dropped += count
        # Log at 1, 10, 100, … drops: visible without flooding the log while it lasts.
        if len(str(before)) != len(str(self.dropped)) or before == 0:
            log.warning(
                "archive buffer full: %d messages dropped so far (the database is too slow "
                "or unreachable)",
                self.dropped,
            )

    def _update_signals(self) -> None:
        if self._pending:
            self._has_pending.set()
        else:
            self._has_pending.clear()
        if len(self._pending) >= self._batch_size:
            self._batch_ready.set()
        else:
            self._batch_ready.clear()
