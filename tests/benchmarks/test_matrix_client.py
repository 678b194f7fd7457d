"""The Matrix measuring client against the session Synapse."""

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from benchmarks.matrix_client import MatrixClient, MatrixError
from bridge.devservers import Synapse
from tests.synapse_fixtures import MatrixUserFactory
from tests.waiting import wait_until

Seen = list[tuple[str, str, str, str]]  # room_id, sender, body, event_id
BURST = 50


@pytest.fixture
async def logged_in(
    synapse: Synapse, matrix_user: MatrixUserFactory
) -> AsyncIterator[Callable[[str], Awaitable[MatrixClient]]]:
    clients: list[MatrixClient] = []

    async def log_in(name: str) -> MatrixClient:
        client = await MatrixClient.login(synapse.base_url, await matrix_user(name))
        clients.append(client)
        return client

    yield log_in
    for client in clients:
        assert client.sync_error is None
        await client.close()


async def test_two_clients_see_each_others_text_from_the_start_of_syncing(
    logged_in: Callable[[str], Awaitable[MatrixClient]],
) -> None:
    alice, bob = await logged_in("benchalice"), await logged_in("benchbob")
    room_id = await alice.create_room(invite=[bob.user_id])
    assert await bob.join(room_id) == room_id
    await alice.send_text(room_id, "before bob listens")
    seen_by_alice: Seen = []
    seen_by_bob: Seen = []
    alice.start_sync(lambda *event: seen_by_alice.append(event))
    bob.start_sync(lambda *event: seen_by_bob.append(event))

    from_alice = await alice.send_text(room_id, "hi bob")
    from_bob = await bob.send_text(room_id, "hi alice")

    expected = [
        (room_id, alice.user_id, "hi bob", from_alice),
        (room_id, bob.user_id, "hi alice", from_bob),
    ]
    await wait_until(lambda: len(seen_by_bob) >= 2, message="bob seeing both messages")
    await wait_until(lambda: len(seen_by_alice) >= 2, message="alice seeing both messages")
    assert seen_by_bob == expected
    assert seen_by_alice == expected


async def test_a_burst_longer_than_the_timeline_arrives_complete_and_once(
    logged_in: Callable[[str], Awaitable[MatrixClient]],
) -> None:
    alice, bob = await logged_in("benchcarol"), await logged_in("benchdave")
    seen: Seen = []
    bob.start_sync(lambda *event: seen.append(event), timeline_limit=5)
    lobby = await alice.create_room(invite=[bob.user_id])
    await bob.join(lobby)
    await alice.send_text(lobby, "ready")
    await wait_until(lambda: len(seen) == 1, message="bob syncing")

    # Said while bob is not in the room: his first sync of it holds 5 and is `limited`.
    room_id = await alice.create_room()
    bodies = [f"burst {number}" for number in range(BURST)]
    for body in bodies:
        await alice.send_text(room_id, body)
    await bob.join(room_id)

    await wait_until(
        lambda: len(seen) >= 1 + BURST, timeout=30, message=f"bob seeing {BURST} messages"
    )
    burst = [event for event in seen if event[0] == room_id]
    assert [body for _, _, body, _ in burst] == bodies
    assert len({event_id for *_, event_id in burst}) == BURST


async def test_a_refused_call_names_synapses_reason(
    logged_in: Callable[[str], Awaitable[MatrixClient]],
) -> None:
    erin = await logged_in("bencherin")
    with pytest.raises(MatrixError, match=r"POST /join/.* failed with HTTP \d+ \(M_"):
        await erin.join("#nowhere:matrix.localhost")
