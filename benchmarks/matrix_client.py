"""A cheap Matrix client for measuring: aiohttp on the client-server API, no matrix-nio.

Its sync loop must not lose messages under bursts, or a benchmark would count the client's
losses as the gateway's: the timeline limit is large, and a timeline Synapse still marks
`limited` is completed with /messages back to the previous sync position.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from bridge.devservers import MatrixAccount

_log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 60.0
SYNC_POLL_MS = 30_000
TIMELINE_LIMIT = 1000
# The first sync only fixes the position "now"; what came just before it is fetched by time.
FIRST_TIMELINE_LIMIT = 10
PAGE_LIMIT = 1000  # events per /messages request when filling a gap
SEEN_EVENTS = 10_000  # event ids remembered for deduplication
MESSAGE_TYPES = ["m.room.message"]
NOTHING: dict[str, Any] = {"types": []}

TextHandler = Callable[[str, str, str, str], None]  # room_id, sender, body, event_id


class MatrixError(Exception):
    """A client-server API call failed; the message names the call and Synapse's reason."""


def _sync_filter(timeline_limit: int) -> dict[str, Any]:
    """Only text timelines of joined rooms: no state, presence, receipts or account data."""
    return {
        "presence": NOTHING,
        "account_data": NOTHING,
        "room": {
            "timeline": {"limit": timeline_limit, "types": MESSAGE_TYPES},
            "state": NOTHING,
            "ephemeral": NOTHING,
            "account_data": NOTHING,
            "include_leave": False,
        },
    }


class MatrixClient:
    """One logged-in device; build it with `await MatrixClient.login(url, account)`."""

    def __init__(self, session: aiohttp.ClientSession, url: str, user_id: str) -> None:
        self.user_id = user_id
        self.sync_error: BaseException | None = None  # why the sync loop stopped, if it did
        self._session = session
        self._api = url.rstrip("/") + "/_matrix/client/v3"
        self._txn_prefix = secrets.token_hex(6)
        self._txn_numbers = itertools.count(1)
        self._seen: dict[str, None] = {}
        self._sync_task: asyncio.Task[None] | None = None

    @classmethod
    async def login(cls, url: str, account: MatrixAccount) -> "MatrixClient":
        """Use the account's existing access token, checked with /whoami."""
        session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {account.access_token}"},
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )
        client = cls(session, url, account.user_id)
        try:
            answer = await client._call("GET", "/account/whoami")
        except BaseException:
            await session.close()
            raise
        if answer.get("user_id") != account.user_id:
            await session.close()
            raise MatrixError(f"the token of {account.user_id} belongs to {answer.get('user_id')}")
        return client

    async def create_room(
        self, alias_localpart: str | None = None, invite: Sequence[str] = ()
    ) -> str:
        """Create a public room (anyone may join) and return its id."""
        request: dict[str, Any] = {"preset": "public_chat", "invite": list(invite)}
        if alias_localpart is not None:
            request["room_alias_name"] = alias_localpart
        answer = await self._call("POST", "/createRoom", body=request)
        return str(answer["room_id"])

    async def join(self, room: str) -> str:
        """Join a room by id or alias; return its id."""
        answer = await self._call("POST", f"/join/{quote(room, safe='')}", body={})
        return str(answer["room_id"])

    async def send_text(self, room_id: str, body: str) -> str:
        """Send an m.text message; return its event id."""
        txn = f"{self._txn_prefix}.{next(self._txn_numbers)}"
        path = f"/rooms/{quote(room_id, safe='')}/send/m.room.message/{txn}"
        answer = await self._call("PUT", path, body={"msgtype": "m.text", "body": body})
        return str(answer["event_id"])

    def start_sync(self, on_text: TextHandler, timeline_limit: int = TIMELINE_LIMIT) -> None:
        """Report every m.text sent from now on in joined rooms, once each, in room order.

        Bursts longer than `timeline_limit` between two syncs are fetched with /messages.
        """
        if self._sync_task is not None:
            raise MatrixError(f"{self.user_id} is already syncing")
        start_ms = int(time.time() * 1000)
        self._sync_task = asyncio.create_task(
            self._sync_loop(on_text, start_ms, timeline_limit), name=f"sync {self.user_id}"
        )
        self._sync_task.add_done_callback(self._sync_ended)

    async def close(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
        await self._session.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (a request's own limit, not a wait)
    ) -> dict[str, Any]:
        what = f"{method} {path} as {self.user_id}"
        limit = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
        try:
            async with self._session.request(
                method, self._api + path, json=body, params=params, timeout=limit
            ) as response:
                answer = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, ValueError) as error:
            raise MatrixError(f"{what} failed: {error!r}") from error
        except TimeoutError:
            raise MatrixError(f"{what} timed out") from None
        if status != 200 or not isinstance(answer, dict):
            reason = (
                f"{answer.get('errcode')}: {answer.get('error')}"
                if isinstance(answer, dict)
                else "no JSON object"
            )
            raise MatrixError(f"{what} failed with HTTP {status} ({reason})")
        return answer

    async def _sync_loop(self, on_text: TextHandler, start_ms: int, timeline_limit: int) -> None:
        uploaded = await self._call(
            "POST",
            f"/user/{quote(self.user_id, safe='')}/filter",
            body=_sync_filter(timeline_limit),
        )
        steady_filter = str(uploaded["filter_id"])
        # Offline: the clients' presence would only cost the shared CPU.
        params = {
            "filter": json.dumps(_sync_filter(FIRST_TIMELINE_LIMIT)),
            "timeout": "0",
            "set_presence": "offline",
        }
        since: str | None = None
        while True:
            answer = await self._call("GET", "/sync", params=params, timeout=REQUEST_TIMEOUT)
            for room_id, room in answer.get("rooms", {}).get("join", {}).items():
                timeline = room.get("timeline", {})
                events: list[dict[str, Any]] = timeline.get("events", [])
                if timeline.get("limited") and not _reaches_before(events, start_ms, since):
                    gap = await self._gap(room_id, timeline.get("prev_batch"), since, start_ms)
                    events = gap + events
                self._deliver(room_id, events, on_text, start_ms if since is None else 0)
            since = str(answer["next_batch"])
            params = {
                "filter": steady_filter,
                "timeout": str(SYNC_POLL_MS),
                "since": since,
                "set_presence": "offline",
            }

    async def _gap(
        self, room_id: str, token: str | None, since: str | None, start_ms: int
    ) -> list[dict[str, Any]]:
        """The messages a limited timeline left out, oldest first.

        They go back to `since`, the previous sync position; on the first sync, which has
        none, back to the first message older than the start of syncing.
        """
        path = f"/rooms/{quote(room_id, safe='')}/messages"
        newest_first: list[dict[str, Any]] = []
        while token is not None:
            params = {
                "dir": "b",
                "from": token,
                "limit": str(PAGE_LIMIT),
                "filter": json.dumps({"types": MESSAGE_TYPES}),
            }
            if since is not None:
                params["to"] = since
            answer = await self._call("GET", path, params=params)
            chunk: list[dict[str, Any]] = answer.get("chunk", [])
            newest_first.extend(chunk)
            if not chunk or (since is None and _reaches_before(chunk[-1:], start_ms, None)):
                break
            token = answer.get("end")
        newest_first.reverse()
        return newest_first

    def _deliver(
        self, room_id: str, events: list[dict[str, Any]], on_text: TextHandler, after_ms: int
    ) -> None:
        for event in events:
            content = event.get("content", {})
            event_id = event.get("event_id", "")
            if (
                event.get("type") != "m.room.message"
                or content.get("msgtype") != "m.text"
                or not isinstance(content.get("body"), str)
                or event.get("origin_server_ts", 0) < after_ms
                or event_id in self._seen
            ):
                continue
            self._seen[event_id] = None
            if len(self._seen) > SEEN_EVENTS:
                del self._seen[next(iter(self._seen))]
            on_text(room_id, event.get("sender", ""), content["body"], event_id)

    def _sync_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        self.sync_error = task.exception()
        if self.sync_error is not None:
            _log.error("sync of %s stopped: %s", self.user_id, self.sync_error)


def _reaches_before(events: list[dict[str, Any]], start_ms: int, since: str | None) -> bool:
    """Whether the oldest event is older than the start of syncing (first sync only)."""
    return since is None and bool(events) and events[0].get("origin_server_ts", 0) < start_ms
