"""Engine creation and the few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Delete, delete, event, literal, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

from bridge.store.models import Base

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class DatabaseUrlError(ValueError):
    """A database URL this bridge cannot use."""


def create_engine(url: str) -> AsyncEngine:
    """An async engine for *url*; for SQLite, WAL + foreign keys, and the file's directory made."""
    parsed = make_url(url)
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseUrlError(
            f"database url driver {parsed.drivername!r} is not supported: "
            f"use one of {', '.join(SUPPORTED_DRIVERS)} (e.g. sqlite+aiosqlite:///path/bridge.db)"
        )
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer anyway, and queueing in the pool beats "database
    # is locked" errors and busy-waits between connections of the same process.
    engine = create_async_engine(parsed, pool_size=1, max_overflow=0)
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers run beside the archive writer; busy_timeout waits out short locks."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@dataclass(frozen=True, slots=True)
class Database:
    """An engine, its sessions, and statements written in the engine's dialect."""

    engine: AsyncEngine
    session: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, url: str) -> Database:
        engine = create_engine(url)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    def _insert(self, model: type[Base]) -> sqlite.Insert | postgresql.Insert:
        # Each dialect's module is imported by its own engines only: PostgreSQL's costs a
        # gateway on SQLite 2 MB and 0.1 s of start-up.
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite

            return sqlite.insert(model)
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(model)

    def upsert(
        self,
        model: type[Base],
        values: Mapping[str, Any],
        keys: Sequence[str],
        keep: Sequence[str] = (),
    ) -> Insert:
        """Insert *values*, or update the row whose *keys* match (leaving the *keep* columns)."""
        statement = self._insert(model).values(dict(values))
        fixed = {*keys, *keep}
        changed = {name: value for name, value in values.items() if name not in fixed}
        return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)

    def upsert_many(self, model: type[Base], keys: Sequence[str]) -> Insert:
        """Insert rows given as parameter sets (one executemany), replacing those whose *keys*
        match."""
        statement = self._insert(model)
        changed = [c.name for c in model.__table__.columns if c.name not in keys]
        return statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in changed}
        )

    def insert_new(self, model: type[Base], keys: Sequence[str]) -> Insert:
        """Insert rows, skipping those whose *keys* already exist (so a retry is harmless)."""
        return self._insert(model).on_conflict_do_nothing(index_elements=list(keys))

    async def delete(self, model: type[Base], **match: str) -> bool:
        """Delete the rows whose columns equal *match*; True when there were any."""
        async with self.session.begin() as session:
            deleted = await session.scalars(delete_matching(model, **match).returning(literal(1)))
            return deleted.first() is not None


def delete_matching(model: type[Base], **match: str) -> Delete:
    """DELETE the rows of *model* whose columns equal *match*."""
    columns = model.__table__.c
    return delete(model).where(*(columns[name] == value for name, value in match.items()))
