"""Idle: start-up time (process start to component connected) and resident memory of a
gateway that serves nobody yet, beside Biboumi's; and the floor our libraries set."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

from benchmarks.plan import Plan
from benchmarks.process_stats import MeasuredProcess, settled_rss
from benchmarks.report import Results, at_most
from benchmarks.stack import Stack

GROUP = "Idle"
MB = 1024 * 1024

# What an idle `xmpp-bridge run` with IRC and Matrix gateways cannot do without: the XMPP
# component (slixmpp); the HTTP server for health, metrics and media, whose package is also
# the Matrix client's HTTP (aiohttp.web); settings and forms (pydantic's models: its schema
# builder loads with the first model class, so the floor defines one); the store
# (SQLAlchemy's asyncio ORM, aiosqlite and its SQLite dialect). Not here because the gateway
# imports them at their first use: matrix-nio (a Matrix login), cryptography (a stored
# secret), Alembic (a schema upgrade). Pygments is kept out as `run` keeps it out of slixmpp.
_REQUIRED_LIBRARIES = (
    "slixmpp",
    "aiohttp.web",
    "pydantic.main",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "sqlalchemy.dialects.sqlite.aiosqlite",
)
_FLOOR_PROGRAM = (
    "import sys\n"
    "sys.modules['pygments'] = None\n"
    f"import {', '.join(_REQUIRED_LIBRARIES)}\n"
    "class Model(pydantic.main.BaseModel):\n"
    "    field: int = 0\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'):\n"
    "        print(int(line.split()[1]) * 1024)\n"
)


@dataclass(frozen=True)
class Floor:
    """A bare Python that imported the required libraries, defined one pydantic model and did
    nothing else."""

    seconds: float
    """From spawn to exit: the start-up no gateway on these libraries can beat."""
    rss: int


async def library_floor() -> Floor:
    started = time.monotonic()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FLOOR_PROGRAM, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await child.communicate()
    seconds = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(f"importing {_REQUIRED_LIBRARIES} failed (exit {child.returncode})")
    return Floor(seconds, int(output))


async def _restart(process: MeasuredProcess) -> tuple[float, int]:
    await process.stop()
    seconds = await process.start()
    return seconds, await settled_rss(process)


async def measure(stack: Stack, plan: Plan, results: Results) -> None:
    for _ in range(plan.repeat):
        ours_start, ours_rss = await _restart(stack.gateway)
        theirs = await _restart(stack.biboumi) if stack.biboumi is not None else None
        results.add(
            GROUP,
            "start-up to component connected",
            "s",
            ours_start,
            theirs[0] if theirs else None,
            reference_name="Biboumi",
        )
        results.add(
            GROUP,
            "idle RSS",
            "MB",
            ours_rss / MB,
            theirs[1] / MB if theirs else None,
            reference_name="Biboumi",
            bar=at_most(60.0, "MB"),
        )
        floor = await library_floor()
        results.add(
            GROUP, "start-up of Python importing the required libraries only", "s", floor.seconds
        )
        results.add(GROUP, "RSS of Python with the required libraries only", "MB", floor.rss / MB)
