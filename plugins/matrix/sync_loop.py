"""One user's /sync loop: raw events in order, gaps filled, the position kept across restarts.

Without a filter Synapse returns ten timeline events per room and marks the rest
``limited``; this loop asks for many, and when a room is still limited it fetches the gap
with /messages back to where the previous sync ended, so a burst loses nothing. The
position (``next_batch``) is saved in the user's store only after a batch was handed on,
so a restart resumes exactly after the last event the core saw.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import ClientError

from bridge.events import Connected, Disconnected
from bridge.link import Backoff
from bridge.network import EventSink, UserStore
from plugins.matrix.settings import SYNC_SCOPE, SyncPosition

log = logging.getLogger(__name__)

CLIENT_API = "/_matrix/client/v3"
MAX_BACKFILL_EVENTS = 2_000
BACKFILL_PAGE = 100
REQUEST_GRACE_SECONDS = 15.0
"""How much longer than its long-poll a /sync may take before it counts as lost."""

RawEvent = Mapping[str, Any]


class MatrixHttpError(Exception):
    """A homeserver answer other than 200: its HTTP status and Matrix error code."""

    def __init__(self, status: int, errcode: str, message: str) -> None:
        super().__init__(f"HTTP {status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode
        self.message = message


class MatrixApi:
    """Raw JSON requests with the session's token, over the nio client's HTTP session.

    nio's parsed responses drop what they do not model; the translation reads raw events.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: object = None,
        timeout: float | None = None,  # noqa: ASYNC109  (handed to the HTTP request)
    ) -> dict[str, Any]:
        url = CLIENT_API + path + (f"?{urlencode(query)}" if query else "")
        headers = {
            "Authorization": f"Bearer {self._client.access_token}",
            "Content-Type": "application/json",
        }
        data = None if body is None else json.dumps(body)
        response = await self._client.send(method, url, data, headers, None, timeout)
        try:
            answer = await response.json(content_type=None)
        except ValueError:
            answer = None
        if response.status != 200 or not isinstance(answer, dict):
            known = answer if isinstance(answer, dict) else {}
            raise MatrixHttpError(
                response.status,
                str(known.get("errcode", "M_UNKNOWN")),
                str(known.get("error", "no JSON answer")),
            )
        return answer


def room_path(room_id: str, *rest: str) -> str:
    return "/rooms/" + "/".join(quote(part, safe="") for part in (room_id, *rest))


@dataclass(frozen=True, slots=True)
class RoomUpdate:
    """What one sync says about a joined room: state before the timeline, then the timeline."""

    room_id: str
    state: tuple[RawEvent, ...]
    timeline: tuple[RawEvent, ...]
    ephemeral: tuple[RawEvent, ...]


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """One /sync answer, gaps filled; *initial* when there was no position to resume from."""

    initial: bool
    joined: tuple[RoomUpdate, ...]
    invited: Mapping[str, tuple[RawEvent, ...]]
    account_data: tuple[RawEvent, ...]
    presence: tuple[RawEvent, ...] = ()
    """``m.presence`` of people who share a room with the user."""


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """Many timeline events per room, members only as far as the timeline needs them."""
    return {
        "room": {
            "timeline": {"limit": timeline_limit},
            "state": {"lazy_load_members": True},
        },
    }


def _events(section: object) -> tuple[RawEvent, ...]:
    events = section.get("events") if isinstance(section, Mapping) else None
    return tuple(e for e in events if isinstance(e, Mapping)) if isinstance(events, list) else ()


class SyncLoop:
    """Syncs until cancelled, handing each batch to *on_batch* before saving its position."""

    def __init__(
        self,
        api: MatrixApi,
        store: UserStore,
        emit: EventSink,
        on_batch: Callable[[SyncBatch], Awaitable[None]],
        *,
        timeline_limit: int,
        poll_ms: int,
        presence: Callable[[], str],
    ) -> None:
        """*presence* is the user's Matrix presence, which each /sync states: without it
        the homeserver marks the user online at every sync, whatever they set."""
        self._api = api
        self._store = store
        self._emit = emit
        self._on_batch = on_batch
        self._filter = json.dumps(sync_filter(timeline_limit), separators=(",", ":"))
        self._poll_ms = poll_ms
        self._presence = presence
        self._backoff = Backoff(first=1.0, cap=60.0, jitter=0.3)

    async def run(self) -> None:
        position = await self._store.load(SYNC_SCOPE, SyncPosition)
        since = position.next_batch if position is not None else None
        failures = 0
        while True:
            try:
                answer = await self._sync(since)
            except MatrixHttpError as error:
                if error.status == 401:
                    self._emit(
                        Disconnected(
                            f"The homeserver no longer accepts the gateway's access token"
                            f" ({error.errcode}); register again.",
                            reconnecting=False,
                        )
                    )
                    return
                failures = await self._failed(failures, str(error))
                continue
            except (ClientError, TimeoutError) as error:
                failures = await self._failed(failures, f"{type(error).__name__}: {error}")
                continue
            if failures:
                failures = 0
                self._emit(Connected())
            batch = await self._batch(answer, since)
            await self._on_batch(batch)
            next_batch = answer.get("next_batch")
            if isinstance(next_batch, str) and next_batch != since:
                since = next_batch
                await self._store.save(SYNC_SCOPE, SyncPosition(next_batch=since))

    async def _failed(self, failures: int, reason: str) -> int:
        if failures == 0:
            log.warning("Matrix sync failed: %s", reason)
            self._emit(Disconnected(f"Lost the homeserver: {reason}", reconnecting=True))
        await asyncio.sleep(self._backoff.delay(failures))
        return failures + 1

    async def _sync(self, since: str | None) -> dict[str, Any]:
        query = {
            "filter": self._filter,
            "timeout": str(self._poll_ms if since else 0),
            "set_presence": self._presence(),
        }
        if since:
            query["since"] = since
        timeout = self._poll_ms / 1000 + REQUEST_GRACE_SECONDS
        return await self._api.request("GET", "/sync", query, timeout=timeout)

    async def _batch(self, answer: Mapping[str, Any], since: str | None) -> SyncBatch:
        rooms = _mapping(answer.get("rooms"))
        joined: list[RoomUpdate] = []
        for room_id, room in _section(rooms, "join").items():
            timeline = _mapping(room.get("timeline"))
            events = _events(timeline)
            if since is not None and timeline.get("limited") is True:
                events = await self._backfill(room_id, timeline.get("prev_batch"), since) + events
            joined.append(
                RoomUpdate(
                    room_id, _events(room.get("state")), events, _events(room.get("ephemeral"))
                )
            )
        invited = {
            room_id: _events(room.get("invite_state"))
            for room_id, room in _section(rooms, "invite").items()
        }
        return SyncBatch(
            initial=since is None,
            joined=tuple(joined),
            invited=invited,
            account_data=_events(answer.get("account_data")),
            presence=_events(answer.get("presence")),
        )

    async def _backfill(self, room_id: str, start: object, since: str) -> tuple[RawEvent, ...]:
        """The events between the previous sync and this limited timeline, oldest first."""
        newest_first: list[RawEvent] = []
        token = start if isinstance(start, str) else None
        while token and len(newest_first) < MAX_BACKFILL_EVENTS:
            query = {"from": token, "to": since, "dir": "b", "limit": str(BACKFILL_PAGE)}
            try:
                page = await self._api.request("GET", room_path(room_id, "messages"), query)
            except (MatrixHttpError, ClientError, TimeoutError) as error:
                log.warning("could not fill a gap in %s: %s", room_id, error)
                break
            chunk = page.get("chunk")
            if not isinstance(chunk, list) or not chunk:
                break
            newest_first.extend(e for e in chunk if isinstance(e, Mapping))
            end = page.get("end")
            token = end if isinstance(end, str) and end != token else None
        log.debug("filled a gap of %d events in %s", len(newest_first), room_id)
        return tuple(reversed(newest_first))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _section(rooms: Mapping[str, Any], name: str) -> dict[str, Mapping[str, Any]]:
    section = _mapping(rooms.get(name))
    return {k: v for k, v in section.items() if isinstance(k, str) and isinstance(v, Mapping)}
