"""Work a service starts and does not await: kept referenced (asyncio holds only weak
references to tasks) and ended together when the service stops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def finish(self) -> None:
        """Wait for everything under way, including what it starts meanwhile; errors are the
        tasks' own business (they log)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
