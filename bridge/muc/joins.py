"""Answering a join: presences at once, then history from the archive, then the subject."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bridge.muc.output import RoomOutput, now
from bridge.muc.ports import ArchivedMessage, RoomArchive
from bridge.muc.state import HistoryRequest, PendingJoin, RoomState
from bridge.tasks import Background

log = logging.getLogger(__name__)


def history_window(
    request: HistoryRequest, max_history: int, at: datetime
) -> tuple[int, datetime | None] | None:
    """(how many, since when) to read for *request*; None when the client wants none."""
    count = max_history if request.max_stanzas is None else min(request.max_stanzas, max_history)
    if count == 0 or request.max_chars == 0:
        return None
    since = request.since
    if request.seconds is not None:
        cutoff = at - timedelta(seconds=request.seconds)
        since = cutoff if since is None else max(since, cutoff)
    return count, since


class JoinAnswers:
    """Sends join answers in XEP-0045 order, reading history without blocking the room."""

    def __init__(self, output: RoomOutput, archive: RoomArchive, max_history: int) -> None:
        self._output = output
        self._archive = archive
        self._max_history = max_history
        self._background = Background()

    def start(self, user: str, state: RoomState, joins: list[PendingJoin]) -> None:
        """Presences now; history and subject once read, with live traffic held back till then."""
        for join in joins:
            self._output.join_presences(state, join)
            self._output.hold(join.resource, state.room)
            self._background.spawn(self._finish(user, state, join))

    async def settled(self) -> None:
        """Wait until every join answer under way is sent."""
        await self._background.finish()

    async def _finish(self, user: str, state: RoomState, join: PendingJoin) -> None:
        try:
            history = await self._history(user, state, join.history)
            self._output.history_and_subject(state, join.resource, history, join.history.max_chars)
        finally:
            self._output.release(join.resource, state.room)

    async def _history(
        self, user: str, state: RoomState, request: HistoryRequest
    ) -> list[ArchivedMessage]:
        window = history_window(request, self._max_history, now())
        if window is None:
            return []
        count, since = window
        try:
            return await self._archive.recent(user, state.room, max_stanzas=count, since=since)
        except Exception:
            log.exception("reading the history of %s failed; joining without it", state.room)
            return []
