"""Joined rooms reach the store in batches, one transaction each, the latest change winning."""

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from bridge.room_writer import RoomWriter
from bridge.secrets import SecretBox, generate_key
from bridge.store import Store, upgrade
from bridge.store.rooms import JoinedRoom
from tests.waiting import wait_until

GW = "irc.example.org"
ALICE = "alice@example.org"


def room(name: str, nick: str = "al", user: str = ALICE) -> JoinedRoom:
    return JoinedRoom(GW, user, f"#{name}%irc.example.org", nick, None, False, (f"{user}/r",))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path}/bridge.db"
    await upgrade(url)
    opened = Store.open(url, SecretBox(generate_key()))
    yield opened
    await opened.close()


class CountingRows:
    """The store's joined rooms, counting batches and failing the first *failures* of them."""

    def __init__(self, store: Store, failures: int = 0) -> None:
        self._store = store
        self.batches: list[int] = []
        self.failures = failures

    async def write(
        self, gateway: str, rooms: Sequence[JoinedRoom], gone: Sequence[tuple[str, str]]
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        self.batches.append(len(rooms) + len(gone))
        await self._store.rooms.write(gateway, rooms, gone)


async def stored(store: Store) -> dict[str, str]:
    return {row.room: row.nick for row in await store.rooms.list_for_user(GW, ALICE)}


async def test_changes_made_together_are_one_batch_and_the_last_one_wins(store: Store) -> None:
    await store.rooms.add(GW, ALICE, room("old").room, nick="al")
    rows = CountingRows(store)
    writer = RoomWriter(rows, GW, delay=0.05)  # type: ignore[arg-type]
    for n in range(50):
        writer.put(room(f"r{n}"))
    writer.put(room("r0", nick="renamed"))
    writer.remove(ALICE, room("r1").room)
    writer.remove(ALICE, room("old").room)
    writer.remove(ALICE, room("r2").room)
    writer.put(room("r2", nick="back"))

    await wait_until(lambda: not writer.pending, message="the batch")
    await writer.close()

    assert rows.batches == [51]
    rooms = await stored(store)
    assert len(rooms) == 49 and room("old").room not in rooms and room("r1").room not in rooms
    assert rooms[room("r0").room] == "renamed" and rooms[room("r2").room] == "back"


async def test_a_failed_batch_is_written_again_under_later_changes(store: Store) -> None:
    rows = CountingRows(store, failures=1)
    writer = RoomWriter(rows, GW, delay=0.01, retry_delay=0.05)  # type: ignore[arg-type]
    writer.put(room("a"))
    writer.put(room("b"))
    await wait_until(lambda: rows.failures == 0, message="the failure")
    writer.put(room("b", nick="later"))
    await wait_until(lambda: not writer.pending, message="the retry")
    await writer.close()

    assert await stored(store) == {room("a").room: "al", room("b").room: "later"}


async def test_closing_writes_what_is_pending_and_a_removed_user_is_left_out(store: Store) -> None:
    writer = RoomWriter(store.rooms, GW, delay=60)
    writer.put(room("kept"))
    writer.put(room("theirs", user="bob@example.org"))
    writer.drop_user("bob@example.org")
    await writer.close()

    assert await stored(store) == {room("kept").room: "al"}
    assert await store.rooms.list_for_user(GW, "bob@example.org") == []
