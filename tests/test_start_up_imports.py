"""Heavy libraries an idle gateway does without: imported at their first use, or never.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.store.migrate import upgrade

_REPORT = (
    "loaded = {name.split('.')[0] for name, module in sys.modules.items() if module is not None}\n"
    "print(sorted(loaded & set(sys.argv[1:])))\n"
)


def _imported(program: str, *libraries: str) -> list[str]:
    """Which of *libraries* a fresh Python has imported after running *program*."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{program}\n{_REPORT}", *libraries],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: list[str] = ast.literal_eval(done.stdout)
    return result


def test_the_matrix_network_loads_without_nio() -> None:
    program = "from bridge.loader import load_network\nload_network('matrix', {})"

    assert _imported(program, "nio", "jsonschema", "h2", "Crypto") == []


@pytest.mark.parametrize(
    ("use", "expected"),
    [("", []), ("box.decrypt(box.encrypt({'password': 'p'}))", ["cryptography"])],
)
def test_the_cipher_is_loaded_at_the_first_secret(use: str, expected: list[str]) -> None:
    program = (
        "from bridge.config import SecretsConfig\n"
        "from bridge.secrets import generate_key, load_key\n"
        "box = load_key(SecretsConfig(), {'XMPP_BRIDGE_KEY': generate_key()})\n"
        f"{use}"
    )

    assert _imported(program, "cryptography") == expected


def test_run_keeps_pygments_out_of_slixmpp(tmp_path: Path) -> None:
    program = (
        "from bridge.cli import main\n"
        f"main(['run', '-c', {str(tmp_path / 'missing.toml')!r}])\n"
        "import slixmpp"
    )

    assert _imported(program, "slixmpp", "pygments") == ["slixmpp"]


def test_a_gateway_with_http_off_runs_without_aiohttp() -> None:
    program = (
        "from bridge.app import Bridge\n"
        "from bridge.loader import load_network\n"
        "load_network('irc', {})\n"
        "load_network('matrix', {})"
    )

    assert _imported(program, "aiohttp") == []


async def test_a_sqlite_store_never_loads_the_postgresql_dialect(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    await upgrade(url)  # here: a migration loads every dialect alembic knows
    program = (
        "import asyncio\n"
        "from bridge.config import SecretsConfig\n"
        "from bridge.secrets import generate_key, load_key\n"
        "from bridge.store import Store\n"
        f"url = {url!r}\n"
        "async def write():\n"
        "    box = load_key(SecretsConfig(), {'XMPP_BRIDGE_KEY': generate_key()})\n"
        "    store = Store.open(url, box)\n"
        "    await store.settings.put('gw', 'u@x', 'scope', values={'a': 1}, secrets={})\n"
        "    await store.close()\n"
        "asyncio.run(write())\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"import sys\n{program}", stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0
    assert ast.literal_eval(output.decode().splitlines()[-1]) == []
