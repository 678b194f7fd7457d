"""Joined-room rows written in the background, in batches, the latest change of each room.

A join must not wait for the database, and thousands of users joining together (as after a
restart) must not cost a transaction each. :class:`RoomWriter` keeps the last change of each
(user, room) and writes what gathered every ``delay`` seconds in one transaction. A clean
stop writes everything; a crash loses at most the changes of the last ``delay`` seconds
(docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from bridge.store.rooms import JoinedRoom, JoinedRooms

log = logging.getLogger(__name__)

RoomKey = tuple[str, str]
"""(user, room JID local part)"""


class RoomWriter:
    def __init__(
        self, rows: JoinedRooms, gateway: str, *, delay: float = 0.1, retry_delay: float = 1.0
    ) -> None:
        self._rows = rows
        self._gateway = gateway
        self._delay = delay
        self._retry_delay = retry_delay
        self._pending: dict[RoomKey, JoinedRoom | None] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> Mapping[RoomKey, JoinedRoom | None]:
        """Changes not yet written: a row to record, or None to forget the room."""
        return self._pending

    def put(self, room: JoinedRoom) -> None:
        self._change((room.user, room.room), room)

    def remove(self, user: str, room: str) -> None:
        self._change((user, room), None)

    def drop_user(self, user: str) -> None:
        """Forget the user's unwritten changes (their rows were removed with them)."""
        for key in [key for key in self._pending if key[0] == user]:
            del self._pending[key]

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """No batch is written meanwhile: what is pending stays pending."""
        async with self._lock:
            yield

    async def flush(self) -> None:
        """Write what is pending now, in one transaction."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return
            rooms = [room for room in batch.values() if room is not None]
            gone = [key for key, room in batch.items() if room is None]
            try:
                await self._rows.write(self._gateway, rooms, gone)
            except BaseException:
                self._pending = {**batch, **self._pending}  # later changes win
                raise

    async def close(self) -> None:
        """Stop the background task (never mid-transaction) and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception:
            log.exception("%d joined-room changes could not be written", len(self._pending))

    def _change(self, key: RoomKey, room: JoinedRoom | None) -> None:
        self._pending[key] = room
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._write_soon(), name="room-writer"
            )

    async def _write_soon(self) -> None:
        while self._pending:
            await asyncio.sleep(self._delay)
            try:
                # Shielded: a cancelled transaction would keep SQLite locked.
                await asyncio.shield(self.flush())
            except Exception as error:
                log.warning("joined rooms not written, retrying: %s", error)
                await asyncio.sleep(self._retry_delay)
