"""Idle: start-up time (process start to component connected) and resident memory of a
gateway that serves nobody yet, beside Biboumi's; and the floor our libraries set."""

from __future__ import annotations

import asyncio
import sys

from benchmarks.plan import Plan
from benchmarks.process_stats import MeasuredProcess, settled_rss
from benchmarks.report import Results, at_most
from benchmarks.stack import Stack

GROUP = "Idle"
MB = 1024 * 1024

# What `xmpp-bridge run` cannot do without, with IRC and Matrix gateways configured: the XMPP
# component, the HTTP server and client, settings, the store and its cipher, Matrix's client.
_REQUIRED_LIBRARIES = (
    "slixmpp",
    "aiohttp.web",
    "pydantic",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "cryptography.fernet",
    "nio",
)
_FLOOR_PROGRAM = (
    f"import {', '.join(_REQUIRED_LIBRARIES)}\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'):\n"
    "        print(int(line.split()[1]) * 1024)\n"
)


async def library_floor() -> int:
    """RSS of a bare Python that imported the required libraries and did nothing else."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FLOOR_PROGRAM, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"importing {_REQUIRED_LIBRARIES} failed (exit {child.returncode})")
    return int(output)


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
        results.add(
            GROUP,
            "RSS of Python with the required libraries only",
            "MB",
            await library_floor() / MB,
        )
