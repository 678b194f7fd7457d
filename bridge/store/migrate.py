"""Alembic, driven from Python: the migrations ship inside the package, no alembic.ini needed.

The CLI's ``db upgrade`` and ``run`` call :func:`upgrade`. To write the next migration,
change :mod:`bridge.store.models`, add a file under ``migrations/versions`` (alembic's
``command.revision(alembic_config(), autogenerate=True)`` run against an upgraded
database drafts it), and check that :func:`schema_differences` is empty afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from bridge.store.engine import create_engine
from bridge.store.models import Base

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the shipped migrations; env.py migrates over *connection*."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at *url* to *revision* (creating every table on an empty one)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database at *url* is at; None when it was never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def schema_differences(url: str) -> list[Any]:
    """What Alembic's autogenerate sees between the models and the database (empty: in step)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
