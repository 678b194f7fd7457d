"""The migration check at start-up: it knows Alembic's heads without Alembic."""

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bridge.store.migrate import alembic_config, shipped_heads, upgrade

_UPGRADE_AND_LIST_ALEMBIC = (
    "import asyncio, sys\n"
    "from bridge.store.migrate import upgrade\n"
    "asyncio.run(upgrade(sys.argv[1]))\n"
    "print(sorted({name.split('.')[0] for name in sys.modules} & {'alembic', 'mako'}))\n"
)


def test_the_heads_read_from_the_migration_files_are_alembics() -> None:
    assert shipped_heads() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _alembic_modules_of_an_upgrade(url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _UPGRADE_AND_LIST_ALEMBIC, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


async def test_a_database_at_the_latest_revision_is_checked_without_alembic(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bridge.db"
    assert _alembic_modules_of_an_upgrade(url) == "['alembic', 'mako']"  # created the tables

    assert _alembic_modules_of_an_upgrade(url) == "[]"


async def test_a_database_behind_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bridge.db"
    await upgrade(url, "0001")

    assert _alembic_modules_of_an_upgrade(url) == "['alembic', 'mako']"
    assert _alembic_modules_of_an_upgrade(url) == "[]"
