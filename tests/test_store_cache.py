"""Registrations and settings are read once per user and kept until the gateway writes them."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bridge.secrets import SecretBox, generate_key
from bridge.store import Store, upgrade
from bridge.store.user_cache import UserCache

GW = "irc.example.org"
ALICE = "alice@example.org"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path}/bridge.db"
    await upgrade(url)
    opened = Store.open(url, SecretBox(generate_key()))
    yield opened
    await opened.close()


def count_statements(store: Store) -> list[str]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(store._db.engine.sync_engine, "before_cursor_execute", seen)
    return statements


async def test_a_users_scopes_are_read_in_one_query_and_then_from_memory(store: Store) -> None:
    await store.settings.put(GW, ALICE, "server:a", values={"nick": "al"}, secrets={"pw": "s"})
    statements = count_statements(store)

    for _ in range(3):
        server = await store.settings.get(GW, ALICE, "server:a")
        assert await store.settings.get(GW, ALICE, "room:#c%a") is None
        assert await store.registrations.get(GW, ALICE) is None

    assert server is not None and server.values == {"nick": "al"} and server.secrets == {"pw": "s"}
    # Who has settings, Alice's settings, who is registered: then nothing more.
    assert len(statements) == 3, statements


async def test_users_without_rows_cost_no_query(store: Store) -> None:
    statements = count_statements(store)
    for n in range(20):
        assert await store.settings.get(GW, f"u{n}@example.org", "roster") is None
        assert await store.registrations.get(GW, f"u{n}@example.org") is None
    assert len(statements) == 2, statements


async def test_writes_and_removing_the_user_are_seen_by_the_next_read(store: Store) -> None:
    assert await store.settings.get(GW, ALICE, "roster") is None
    assert await store.registrations.get(GW, ALICE) is None

    await store.settings.put(GW, ALICE, "roster", values={"jids": ["b@x"]}, secrets={})
    await store.registrations.put(GW, ALICE, fields={"nick": "al"}, secrets={})
    roster = await store.settings.get(GW, ALICE, "roster")
    registration = await store.registrations.get(GW, ALICE)
    assert roster is not None and roster.values == {"jids": ["b@x"]}
    assert registration is not None and registration.fields == {"nick": "al"}

    await store.delete_user(GW, ALICE)
    assert await store.settings.get(GW, ALICE, "roster") is None
    assert await store.registrations.get(GW, ALICE) is None


async def everybody(gateway: str) -> list[str]:
    return ["a", "b", "c", ALICE]


async def test_a_read_that_raced_a_write_is_not_kept() -> None:
    cache: UserCache[str] = UserCache(absent="", holders=everybody)
    reading = asyncio.Event()
    release = asyncio.Event()

    async def stale() -> str:
        reading.set()
        await release.wait()
        return "before the write"

    async def fresh() -> str:
        return "after the write"

    racing = asyncio.create_task(cache.get(GW, ALICE, stale))
    await reading.wait()
    cache.invalidate(GW, ALICE)
    release.set()
    assert await racing == "before the write"
    assert await cache.get(GW, ALICE, fresh) == "after the write"


async def test_a_list_of_users_that_raced_a_write_is_not_kept() -> None:
    listing = asyncio.Event()
    release = asyncio.Event()
    lists = 0

    async def holders(gateway: str) -> list[str]:
        nonlocal lists
        lists += 1
        listing.set()
        await release.wait()
        return []

    async def load() -> str:
        return "written"

    cache: UserCache[str] = UserCache(absent="", holders=holders)
    racing = asyncio.create_task(cache.get(GW, ALICE, load))
    await listing.wait()
    cache.invalidate(GW, ALICE)
    release.set()
    assert await racing == "written"
    assert await cache.get(GW, "bob@example.org", load) == ""
    assert lists == 2


async def test_the_earliest_user_read_makes_room_for_a_new_one() -> None:
    cache: UserCache[str] = UserCache(absent="", holders=everybody, capacity=2)
    loads: list[str] = []

    def loader(user: str) -> Any:
        async def load() -> str:
            loads.append(user)
            return user

        return load

    for user in ["a", "b", "c", "c", "a"]:
        assert await cache.get(GW, user, loader(user)) == user
    assert loads == ["a", "b", "c", "a"]
