"""`python -m benchmarks [--quick] [--repeat N] [--out FILE] [--only SCENARIO ...]`.

Starts its own stack on loopback, runs the scenarios in an order where each leaves the
next a clean gateway, prints the table and writes the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.plan import FULL, QUICK, Plan
from benchmarks.report import Results, markdown, table, write_json
from benchmarks.scenarios import fanout, idle, irc_path, matrix_path, scale
from benchmarks.stack import Stack, StackOptions

Scenario = Callable[[Stack, Plan, Results], Awaitable[None]]
# Idle first (a fresh process), scale last (it restarts the gateways and leaves them big).
SCENARIOS: dict[str, Scenario] = {
    "idle": idle.measure,
    "irc": irc_path.measure,
    "fanout": fanout.measure,
    "matrix": matrix_path.measure,
    "scale": scale.measure,
}
log = logging.getLogger("benchmarks")


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (for CI)")
    parser.add_argument("--repeat", type=int, help="runs of each pair (default: 3, quick: 1)")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: in the workdir)")
    parser.add_argument("--markdown", type=Path, help="also write the table in Markdown here")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), help="run only these")
    parser.add_argument("--no-biboumi", action="store_true", help="skip the Biboumi references")
    parser.add_argument("--keep", action="store_true", help="keep the workdir with the logs")
    return parser.parse_args(argv)


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError as error:
        return f"unavailable ({error})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _context(plan: Plan, stack: Stack) -> dict[str, Any]:
    synapse = os.environ.get("XMPP_BRIDGE_SYNAPSE_PYTHON", "")
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },
        "versions": {
            "xmpp-bridge": _first_line([sys.executable, "-m", "bridge.cli", "version"]),
            "prosody": _first_line(["dpkg-query", "-W", "-f=${Version}", "prosody"]),
            "ngircd": _first_line(["dpkg-query", "-W", "-f=${Version}", "ngircd"]),
            "biboumi": _first_line(["dpkg-query", "-W", "-f=${Version}", "biboumi"]),
            "synapse": _first_line([synapse, "-c", "import synapse; print(synapse.__version__)"])
            if synapse
            else "not used",
        },
        "plan": dataclasses.asdict(plan),
        "open_files_limit": stack.open_files_limit,
    }


async def _run(arguments: argparse.Namespace, workdir: Path) -> int:
    plan = QUICK if arguments.quick else FULL
    if arguments.repeat:
        plan = dataclasses.replace(plan, repeat=arguments.repeat)
    chosen = arguments.only or list(SCENARIOS)
    options = StackOptions(
        workdir=workdir, matrix="matrix" in chosen, biboumi=not arguments.no_biboumi
    )
    results = Results()
    failed: list[str] = []
    async with Stack(options) as stack:
        for name in chosen:
            log.info("measuring %s", name)
            try:
                await SCENARIOS[name](stack, plan, results)
            except Exception:  # the other scenarios' figures are still worth having
                log.exception("scenario %s failed", name)
                failed.append(name)
        print(table(results), flush=True)
        out = arguments.out or workdir / "results.json"
        write_json(out, results, _context(plan, stack))
        if arguments.markdown:
            arguments.markdown.write_text(markdown(results))
    log.info("figures written to %s", out)
    if failed:
        log.error("scenarios that failed: %s", ", ".join(failed))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="xmpp-bridge-bench-"))
    try:
        return asyncio.run(_run(arguments, workdir))
    finally:
        if arguments.keep:
            log.info("logs kept in %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
