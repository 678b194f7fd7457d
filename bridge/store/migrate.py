"""Alembic, driven from Python: the migrations ship inside the package, no alembic.ini needed.

The CLI's ``db upgrade`` and ``run`` call :func:`upgrade`. A database already at the latest
revision costs one query: the revisions are read from the migration files and the
``alembic_version`` table, and Alembic itself (~8 MB and ~50 modules with Mako) is imported
only when there is something to migrate.

To write the next migration, change :mod:`bridge.store.models`, add a file under
``migrations/versions`` (alembic's ``command.revision(alembic_config(), autogenerate=True)``
run against an upgraded database drafts it), and check that :func:`schema_differences` is
empty afterwards.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text

from bridge.store.engine import create_engine
from bridge.store.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE = "alembic_version"
# `revision: str = "0002"` and `down_revision: str | None = "0001"`, as alembic's template
# writes them; the value is a Python literal (a string, None, or a tuple after a merge).
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def shipped_heads() -> frozenset[str]:
    """The revisions no shipped migration revises: what Alembic calls the heads."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        fields = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        revisions.add(ast.literal_eval(fields["revision"]))
        down = ast.literal_eval(fields.get("down_revision", "None"))
        revised.update((down,) if isinstance(down, str) else down or ())
    return frozenset(revisions - revised)


def recorded_revisions(connection: Connection) -> frozenset[str]:
    """The revisions Alembic recorded in the database; empty when it was never migrated."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the shipped migrations; env.py migrates over *connection*."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _migrate(connection: Connection, revision: str) -> None:
    # Alembic announces each of its plugins at INFO when it loads: noise in operators' logs.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at *url* to *revision* (creating every table on an empty one)."""
    wanted = shipped_heads() if revision == "head" else frozenset({revision})
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if await connection.run_sync(recorded_revisions) != wanted:
                await connection.run_sync(_migrate, revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database at *url* is at; None when it was never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            revisions = await connection.run_sync(recorded_revisions)
    finally:
        await engine.dispose()
    return next(iter(revisions), None)  # the history is linear: one row at most


async def schema_differences(url: str) -> list[Any]:
    """What Alembic's autogenerate sees between the models and the database (empty: in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

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
