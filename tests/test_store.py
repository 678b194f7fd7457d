"""The store on SQLite and on a real PostgreSQL 15: migrations, tables, archive paging, writer."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bridge.secrets import SecretBox, SecretKeyError, generate_key
from bridge.store import (
    ArchivedMessage,
    ArchiveWriter,
    DatabaseUrlError,
    Store,
    UnknownArchiveId,
    upgrade,
)
from bridge.store.archive import Archive
from bridge.store.engine import create_engine
from bridge.store.migrate import current_revision, schema_differences
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.waiting import wait_until

GW = "irc.example.org"
ALICE = "alice@example.org"
BOB = "bob@example.org"
ROOM = "#chan%irc.libera.chat"
PASSWORD = "hunter2-plaintext-marker"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in a directory yet to be made, or a new PG database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/state/bridge.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(generate_key())


@pytest.fixture
async def store(database_url: str, box: SecretBox) -> AsyncIterator[Store]:
    await upgrade(database_url)
    opened = Store.open(database_url, box)
    yield opened
    await opened.close()


def message(
    number: int,
    *,
    gateway: str = GW,
    user: str = ALICE,
    conversation: str = ROOM,
    when: datetime | None = None,
) -> ArchivedMessage:
    """Message *number*; two messages share each second, so ties in time are exercised."""
    return ArchivedMessage(
        gateway=gateway,
        user=user,
        conversation=conversation,
        stanza_id=str(uuid.uuid4()),
        legacy_id=None,
        origin_id=None,
        sender="nick",
        body=f"message {number}",
        when=when or T0 + timedelta(seconds=number // 2),
        own=False,
        action=False,
    )


def bodies(messages: Sequence[ArchivedMessage]) -> list[str]:
    return [m.body for m in messages]


def numbered(numbers: range) -> list[str]:
    return [f"message {n}" for n in numbers]


async def test_upgrade_creates_the_schema_the_models_describe(database_url: str) -> None:
    assert await current_revision(database_url) is None

    await upgrade(database_url)
    await upgrade(database_url)  # a second run is a no-op

    assert await current_revision(database_url) == "0002"
    assert await schema_differences(database_url) == []


async def test_upgrading_a_first_release_database_keeps_its_rooms(
    database_url: str, box: SecretBox
) -> None:
    await upgrade(database_url, "0001")
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                'INSERT INTO joined_rooms (gateway, "user", room, nick, persistent) '
                "VALUES ('gw', 'a@x', '#c%irc', 'a', false)"
            )
        )
    await engine.dispose()
    await upgrade(database_url)
    store = Store.open(database_url, box)
    try:
        [room] = await store.rooms.list_for_user("gw", "a@x")
    finally:
        await store.close()
    assert (room.nick, room.resources) == ("a", ())


async def test_sqlite_file_gets_its_directory_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/not/yet/there/bridge.db"
    engine = create_engine(url)
    async with engine.connect() as connection:
        journal = await connection.scalar(text("PRAGMA journal_mode"))
        foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
    await engine.dispose()

    assert (journal, foreign_keys) == ("wal", 1)
    assert (tmp_path / "not/yet/there/bridge.db").exists()


def test_an_unsupported_database_url_names_the_drivers_to_use() -> None:
    with pytest.raises(DatabaseUrlError, match=r"'mysql\+aiomysql'.*sqlite\+aiosqlite"):
        create_engine("mysql+aiomysql://db/bridge")


async def test_registration_round_trip_with_secrets_sealed_on_disk(
    store: Store, database_url: str, box: SecretBox
) -> None:
    first = await store.registrations.put(
        GW, ALICE, fields={"nick": "alice_nick", "ports": [6667]}, secrets={"password": PASSWORD}
    )
    second = await store.registrations.put(
        GW,
        ALICE,
        fields={"nick": "alice_nick"},
        secrets={"password": PASSWORD},
        stay_connected=True,
    )

    got = await store.registrations.get(GW, ALICE)
    assert got == second
    assert got is not None and got.secrets == {"password": PASSWORD} and got.stay_connected
    assert got.created == first.created and got.updated >= first.updated
    assert got.created.tzinfo is not None
    assert PASSWORD not in repr(got)
    assert await store.registrations.list_for_gateway(GW) == [got]
    assert await store.registrations.get("other.gateway", ALICE) is None

    await store.rooms.add(GW, ALICE, ROOM, nick="alice_nick", password=PASSWORD)
    await store.settings.put(GW, ALICE, "global", values={}, secrets={"pass": PASSWORD})
    await store.close()
    await assert_plaintext_absent(database_url, visible="alice_nick", secret=PASSWORD)


async def assert_plaintext_absent(database_url: str, *, visible: str, secret: str) -> None:
    """The secret is nowhere in the stored bytes, though a non-secret value is."""
    if database_url.startswith("sqlite"):
        directory = Path(database_url.removeprefix("sqlite+aiosqlite:///")).parent
        stored = b"".join(path.read_bytes() for path in directory.iterdir())
    else:
        engine = create_engine(database_url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT r::text FROM registrations r"
                    " UNION ALL SELECT j::text FROM joined_rooms j"
                    " UNION ALL SELECT s::text FROM settings s"
                )
            )
            stored = "".join(row[0] for row in rows).encode()
        await engine.dispose()
    assert visible.encode() in stored
    assert secret.encode() not in stored


async def test_secrets_stored_with_another_key_are_refused(store: Store, database_url: str) -> None:
    await store.registrations.put(GW, ALICE, fields={}, secrets={"password": PASSWORD})
    other = Store.open(database_url, SecretBox(generate_key()))
    try:
        with pytest.raises(SecretKeyError, match="another key"):
            await other.registrations.get(GW, ALICE)
    finally:
        await other.close()


async def test_registration_delete(store: Store) -> None:
    await store.registrations.put(GW, ALICE, fields={}, secrets={})

    assert await store.registrations.delete(GW, ALICE)
    assert not await store.registrations.delete(GW, ALICE)
    assert await store.registrations.get(GW, ALICE) is None


async def test_settings_are_kept_per_scope(store: Store) -> None:
    server, room = "server:irc.libera.chat", f"room:{ROOM}"
    await store.settings.put(GW, ALICE, server, values={"ports": "6697"}, secrets={"pass": "x"})
    await store.settings.put(GW, ALICE, room, values={"encoding_in": "latin-1"}, secrets={})
    await store.settings.put(GW, ALICE, server, values={"ports": "6667"}, secrets={"pass": "y"})

    got = await store.settings.get(GW, ALICE, server)
    assert got is not None and got.values == {"ports": "6667"} and got.secrets == {"pass": "y"}
    assert await store.settings.delete(GW, ALICE, server)
    assert await store.settings.get(GW, ALICE, server) is None
    kept = await store.settings.get(GW, ALICE, room)
    assert kept is not None and kept.values == {"encoding_in": "latin-1"}


async def test_joined_rooms_per_user_and_per_gateway(store: Store) -> None:
    await store.rooms.add(GW, ALICE, ROOM, nick="alice", password="key")
    await store.rooms.add(GW, ALICE, ROOM, nick="alice_", password="key2", persistent=True)
    await store.rooms.add(GW, ALICE, "#other%irc.libera.chat", nick="alice")
    await store.rooms.add(GW, BOB, ROOM, nick="bob")
    await store.rooms.add("matrix.example.org", BOB, "#m%matrix.org", nick="bob")

    alices = await store.rooms.list_for_user(GW, ALICE)
    assert [(r.room, r.nick, r.password, r.persistent) for r in alices] == [
        ("#chan%irc.libera.chat", "alice_", "key2", True),
        ("#other%irc.libera.chat", "alice", None, False),
    ]
    assert "key2" not in repr(alices[0])
    everyone = await store.rooms.list_for_gateway(GW)
    assert [(r.user, r.room) for r in everyone] == [
        (ALICE, "#chan%irc.libera.chat"),
        (ALICE, "#other%irc.libera.chat"),
        (BOB, "#chan%irc.libera.chat"),
    ]
    assert await store.rooms.remove(GW, ALICE, ROOM)
    assert not await store.rooms.remove(GW, ALICE, ROOM)
    assert [r.room for r in await store.rooms.list_for_user(GW, ALICE)] == [
        "#other%irc.libera.chat"
    ]


async def test_archive_pages_forward_and_backward_like_rsm(store: Store) -> None:
    await store.archive.append([message(n) for n in range(250)])
    await store.archive.append([message(n, user=BOB) for n in range(5)])
    await store.archive.append([message(n, conversation="#elsewhere") for n in range(5)])
    query = store.archive.query

    first = await query(GW, ALICE, ROOM, limit=100)
    second = await query(GW, ALICE, ROOM, after_id=first.messages[-1].stanza_id, limit=100)
    third = await query(GW, ALICE, ROOM, after_id=second.messages[-1].stanza_id, limit=100)
    assert (bodies(first.messages), first.complete) == (numbered(range(100)), False)
    assert (bodies(second.messages), second.complete) == (numbered(range(100, 200)), False)
    assert (bodies(third.messages), third.complete) == (numbered(range(200, 250)), True)

    last = await query(GW, ALICE, ROOM, before_id="", limit=100)
    before = await query(GW, ALICE, ROOM, before_id=last.messages[0].stanza_id, limit=100)
    earliest = await query(GW, ALICE, ROOM, before_id=before.messages[0].stanza_id, limit=100)
    assert (bodies(last.messages), last.complete) == (numbered(range(150, 250)), False)
    assert (bodies(before.messages), before.complete) == (numbered(range(50, 150)), False)
    assert (bodies(earliest.messages), earliest.complete) == (numbered(range(50)), True)

    capped = await query(GW, ALICE, ROOM, limit=1000)
    assert len(capped.messages) == 100 and not capped.complete
    flipped = await query(GW, ALICE, ROOM, before_id="", limit=3, newest_first=True)
    assert bodies(flipped.messages) == ["message 249", "message 248", "message 247"]
    window = await query(
        GW, ALICE, ROOM, start=T0 + timedelta(seconds=10), end=T0 + timedelta(seconds=12)
    )
    assert (bodies(window.messages), window.complete) == (numbered(range(20, 26)), True)
    assert (await query(GW, ALICE, ROOM, limit=0)).messages == ()
    with pytest.raises(UnknownArchiveId, match="no-such-id"):
        await query(GW, ALICE, ROOM, after_id="no-such-id")


async def test_recent_history_is_the_newest_in_time_order(store: Store) -> None:
    await store.archive.append([message(n) for n in range(30)])

    recent = await store.archive.recent(GW, ALICE, ROOM, limit=5)
    since = await store.archive.recent(GW, ALICE, ROOM, limit=20, since=T0 + timedelta(seconds=13))

    assert bodies(recent) == numbered(range(25, 30))
    assert bodies(since) == numbered(range(26, 30))
    assert recent[0].when.tzinfo is not None


async def test_archive_skips_a_message_it_already_holds(store: Store) -> None:
    said = message(1)
    await store.archive.append([said])
    await store.archive.append([said, message(2)])

    assert bodies(await store.archive.recent(GW, ALICE, ROOM, limit=10)) == numbered(range(1, 3))


async def test_id_map_both_ways(store: Store) -> None:
    await store.ids.put(GW, ALICE, ROOM, xmpp_id="x1", legacy_id="$event1")
    await store.ids.put(GW, ALICE, ROOM, xmpp_id="x2", legacy_id="$event2")
    await store.ids.put(GW, BOB, ROOM, xmpp_id="x1", legacy_id="$bobs")

    assert await store.ids.legacy_for_xmpp(GW, ALICE, ROOM, "x1") == "$event1"
    assert await store.ids.xmpp_for_legacy(GW, ALICE, ROOM, "$event2") == "x2"
    assert await store.ids.legacy_for_xmpp(GW, BOB, ROOM, "x1") == "$bobs"
    assert await store.ids.legacy_for_xmpp(GW, ALICE, "#elsewhere", "x1") is None
    assert await store.ids.xmpp_for_legacy(GW, ALICE, ROOM, "$unknown") is None


async def test_sync_token_is_replaced(store: Store) -> None:
    assert await store.sync_tokens.get(GW, ALICE) is None
    await store.sync_tokens.put(GW, ALICE, "s1_batch")
    await store.sync_tokens.put(GW, ALICE, "s2_batch")

    assert await store.sync_tokens.get(GW, ALICE) == "s2_batch"


async def fill_everything(store: Store, gateway: str, user: str) -> None:
    await store.registrations.put(gateway, user, fields={}, secrets={"password": "p"})
    await store.settings.put(gateway, user, "global", values={}, secrets={})
    await store.rooms.add(gateway, user, ROOM, nick="n")
    await store.ids.put(gateway, user, ROOM, xmpp_id="x", legacy_id="l")
    await store.sync_tokens.put(gateway, user, "token")
    await store.archive.append([message(1, gateway=gateway, user=user)])


async def everything_of(store: Store, gateway: str, user: str) -> list[object]:
    return [
        await store.registrations.get(gateway, user),
        await store.settings.get(gateway, user, "global"),
        await store.rooms.list_for_user(gateway, user),
        await store.ids.legacy_for_xmpp(gateway, user, ROOM, "x"),
        await store.sync_tokens.get(gateway, user),
        await store.archive.recent(gateway, user, ROOM, limit=10),
    ]


async def test_delete_user_removes_all_of_that_user_only(store: Store) -> None:
    other_gateway = "matrix.example.org"
    for gateway, user in [(GW, ALICE), (GW, BOB), (other_gateway, ALICE)]:
        await fill_everything(store, gateway, user)

    await store.delete_user(GW, ALICE)

    assert await everything_of(store, GW, ALICE) == [None, None, [], None, None, []]
    assert all(await everything_of(store, GW, BOB))
    assert all(await everything_of(store, other_gateway, ALICE))


class RecordingArchive:
    """The store's archive, recording the size of each batch written, failing on demand."""

    def __init__(self, archive: Archive, *, failures: int = 0) -> None:
        self._archive = archive
        self.recent = archive.recent
        self.batches: list[int] = []
        self.failures = failures

    async def append(self, messages: Sequence[ArchivedMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        self.batches.append(len(messages))
        await self._archive.append(messages)


async def test_writer_writes_in_batches_of_one_transaction(store: Store) -> None:
    archive = RecordingArchive(store.archive)
    writer = ArchiveWriter(archive, batch_size=200, interval=0.05)

    for n in range(450):
        writer.append(message(n))
    await wait_until(lambda: writer.buffered == 0, message="the writer to drain its buffer")

    assert archive.batches == [200, 200, 50]
    stored = await store.archive.query(GW, ALICE, ROOM, before_id="", limit=100)
    assert bodies(stored.messages) == numbered(range(350, 450))
    await writer.close()


async def test_history_on_join_includes_messages_not_yet_written(store: Store) -> None:
    await store.archive.append([message(n) for n in range(10)])
    writer = ArchiveWriter(store.archive, interval=3600)

    for n in range(10, 13):
        writer.append(message(n))

    assert bodies(await store.archive.recent(GW, ALICE, ROOM, limit=5)) == numbered(range(5, 10))
    assert bodies(await writer.recent(GW, ALICE, ROOM, limit=5)) == numbered(range(8, 13))
    await writer.flush()
    assert bodies(await store.archive.recent(GW, ALICE, ROOM, limit=5)) == numbered(range(8, 13))
    await writer.close()


async def test_writer_overflow_drops_the_oldest_and_counts(store: Store) -> None:
    writer = ArchiveWriter(store.archive, capacity=10, batch_size=5, interval=3600)

    for n in range(25):
        writer.append(message(n))
    await writer.close()

    assert writer.dropped == 15
    assert bodies(await store.archive.recent(GW, ALICE, ROOM, limit=100)) == numbered(range(15, 25))


async def test_writer_retries_a_failed_batch(store: Store) -> None:
    archive = RecordingArchive(store.archive, failures=1)
    writer = ArchiveWriter(archive, interval=0.01, retry_delay=0.05)

    writer.append(message(1))
    await wait_until(lambda: writer.buffered == 0, message="the failed batch to be retried")

    assert writer.write_failures == 1 and writer.dropped == 0
    assert bodies(await store.archive.recent(GW, ALICE, ROOM, limit=10)) == ["message 1"]
    await writer.close()
