"""A session-wide Synapse, users registered on it, and matrix-nio clients logged in as them."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomMessageText, SyncError

from bridge.devservers import MatrixAccount, Synapse

SYNC_POLL_MS = 500
# Without a filter /sync returns at most 10 timeline events per room (see LAB.md).
SYNC_FILTER = {"room": {"timeline": {"limit": 200}}}


MatrixClientFactory = Callable[[MatrixAccount], Awaitable[Any]]


@pytest.fixture
async def matrix_client(synapse: Synapse) -> AsyncIterator[MatrixClientFactory]:
    """nio AsyncClients logged in with a registered account's token; closed when the test ends."""
    clients: list[Any] = []

    async def connect(account: MatrixAccount) -> Any:
        config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False)
        client = AsyncClient(synapse.base_url, account.user_id, config=config)
        client.restore_login(account.user_id, account.device_id, account.access_token)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


async def sync_until(
    client: Any,
    found: Callable[[Any], Any],
    timeout: float = 10.0,  # noqa: ASYNC109  (the timeout is named in the failure message)
    what: str = "the condition",
) -> Any:
    """Sync `client` until `found(sync_response)` is truthy, and return that value."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                response = await client.sync(timeout=SYNC_POLL_MS, sync_filter=SYNC_FILTER)
                if isinstance(response, SyncError):
                    raise AssertionError(f"{client.user_id} could not sync: {response.message}")
                outcome = found(response)
                if outcome:
                    return outcome
    except TimeoutError:
        raise AssertionError(f"{client.user_id} did not see {what} within {timeout:g} s") from None


def text_message(room_id: str, sender: str, body: str) -> Callable[[Any], Any]:
    """A sync condition: the room's timeline holds the text `body` sent by `sender`."""

    def match(response: Any) -> Any:
        room = response.rooms.join.get(room_id)
        events = room.timeline.events if room is not None else []
        return next(
            (
                event
                for event in events
                if isinstance(event, RoomMessageText)
                and event.sender == sender
                and event.body == body
            ),
            None,
        )

    return match
