"""Idle: start-up (process start to component connected: time and CPU time) and resident
memory of a gateway that serves nobody yet, beside Biboumi's; and the floor our libraries set."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.plan import Plan
from benchmarks.process_stats import MeasuredProcess, settled_rss
from benchmarks.report import Bar, Results, at_most
from benchmarks.stack import Stack

GROUP = "Idle"
MB = 1024 * 1024

# What an idle `xmpp-bridge run` as configured here (IRC and Matrix gateways, [http] on)
# cannot do without: the XMPP component (slixmpp); the HTTP server for health, metrics and
# media (aiohttp.web; with [http] off, the default, aiohttp waits for a Matrix login);
# settings and forms (pydantic's models: its schema builder loads with the first model
# class, so the floor defines one); the store (SQLAlchemy's asyncio ORM, aiosqlite and its
# SQLite dialect). Not here because the gateway imports them at their first use: matrix-nio
# (a Matrix login), cryptography (a stored secret), Alembic (a schema upgrade). Pygments is
# kept out as `run` keeps it out of slixmpp.
_REQUIRED_LIBRARIES = (
    "slixmpp",
    "aiohttp.web",
    "pydantic.main",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "sqlalchemy.dialects.sqlite.aiosqlite",
)
_FLOOR_PROGRAM = (
    "import sys, time\n"
    "sys.modules['pygments'] = None\n"
    f"import {', '.join(_REQUIRED_LIBRARIES)}\n"
    "class Model(pydantic.main.BaseModel):\n"
    "    field: int = 0\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'):\n"
    "        print(int(line.split()[1]) * 1024, time.process_time())\n"
)


@dataclass(frozen=True)
class Start:
    """One start of a gateway, or of the floor's bare Python."""

    seconds: float
    """From spawn to component connected (for the floor: to exit)."""
    cpu_seconds: float
    """User plus system time by then: what a loaded machine stretches less than the clock."""
    rss: int
    """Settled resident memory afterwards."""


async def library_floor() -> Start:
    """A bare Python that imported the required libraries, defined one pydantic model and did
    nothing else: the start-up and memory no gateway on these libraries can beat."""
    started = time.monotonic()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FLOOR_PROGRAM, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await child.communicate()
    seconds = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(f"importing {_REQUIRED_LIBRARIES} failed (exit {child.returncode})")
    rss, cpu_seconds = output.split()
    return Start(seconds, float(cpu_seconds), int(rss))


async def _restart(process: MeasuredProcess) -> Start:
    await process.stop()
    seconds = await process.start()
    cpu_seconds = process.cpu_seconds()
    return Start(seconds, cpu_seconds, await settled_rss(process))


def _seconds(run: Start) -> float:
    return run.seconds


def _cpu_seconds(run: Start) -> float:
    return run.cpu_seconds


def _megabytes(run: Start) -> float:
    return run.rss / MB


_PAIRED: tuple[tuple[str, str, Callable[[Start], float], Bar | None], ...] = (
    ("start-up to component connected", "s", _seconds, None),
    ("CPU time of that start-up", "s", _cpu_seconds, None),
    ("idle RSS", "MB", _megabytes, at_most(60.0, "MB")),
)
_FLOOR: tuple[tuple[str, str, Callable[[Start], float]], ...] = (
    ("start-up of Python with the required libraries only", "s", _seconds),
    ("CPU time of the libraries' start-up", "s", _cpu_seconds),
    ("RSS of Python with the required libraries only", "MB", _megabytes),
)


async def measure(stack: Stack, plan: Plan, results: Results) -> None:
    for _ in range(plan.repeat):
        ours = await _restart(stack.gateway)
        theirs = await _restart(stack.biboumi) if stack.biboumi is not None else None
        for metric, unit, of, bar in _PAIRED:
            reference = of(theirs) if theirs is not None else None
            results.add(GROUP, metric, unit, of(ours), reference, reference_name="Biboumi", bar=bar)
        floor = await library_floor()
        for metric, unit, of in _FLOOR:
            results.add(GROUP, metric, unit, of(floor))
