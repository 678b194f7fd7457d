"""A running gateway sets what its start-up built aside from the garbage collector's passes."""

import os
import subprocess
import sys
from pathlib import Path

from bridge.devservers import free_port
from bridge.secrets import generate_key

# Runs the gateway until its start-up is over, then stops it as SIGTERM does. No XMPP server
# listens on the port: the component keeps retrying, which start-up does not wait for.
_RUN_UNTIL_STARTED = """
import asyncio, gc, os, signal, sys
from pathlib import Path
from bridge.app import Bridge
from bridge.config import load_config

async def main() -> None:
    bridge = Bridge(load_config(Path(sys.argv[1])), os.environ)
    running = asyncio.create_task(bridge.run_until_stopped())
    while not gc.get_freeze_count() and not running.done():
        await asyncio.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)
    await running
    print(gc.get_freeze_count())

asyncio.run(main())
"""


def test_start_up_objects_are_kept_out_of_full_collections(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path}/bridge.db"
[[gateway]]
domain = "gw.localhost"
network = "tests.loopnet:create"
server_port = {free_port()}
secret_env = "TEST_COMPONENT_SECRET"
"""
    )
    env = {**os.environ, "XMPP_BRIDGE_KEY": generate_key(), "TEST_COMPONENT_SECRET": "s"}
    done = subprocess.run(
        [sys.executable, "-c", _RUN_UNTIL_STARTED, str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )

    assert int(done.stdout) > 10_000
