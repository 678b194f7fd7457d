"""A measured server child: spawned, timed until ready, stopped; its memory and CPU from /proc."""

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from bridge.devservers.process import ServerError, ServerProcess, log_tail

READY_POLL_SECONDS = 0.005
"""Short enough that start-up times (around a second) are read to within a few ms."""

Readiness = Callable[[], Awaitable[bool]]
"""Answers whether the child is ready now; called every READY_POLL_SECONDS until it is."""

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ChildProcess:
    """One child with its stdout and stderr in a log file; spawn and stop are the dev servers'."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str],
        ready: Readiness,
        startup_timeout: float,
        stop_timeout: float,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._ready = ready
        self._startup_timeout = startup_timeout
        # No ports: ServerProcess only spawns; readiness is polled here, more often.
        self._process = ServerProcess(
            name,
            argv,
            log_path=log_path,
            ports=[],
            cwd=cwd,
            env=env,
            stop_timeout=stop_timeout,
        )

    @property
    def pid(self) -> int:
        pid = self._process.pid
        if pid is None:
            raise ServerError(f"{self.name} was never started")
        return pid

    async def start(self) -> float:
        """Spawn the child and return the seconds until it was ready."""
        spawned = time.monotonic()
        await self._process.start()
        try:
            await self._wait_until_ready(spawned + self._startup_timeout)
        except BaseException:
            await self._process.stop()
            raise
        return time.monotonic() - spawned

    async def _wait_until_ready(self, deadline: float) -> None:
        while not await self._ready():
            if not self._process.running:
                raise ServerError(
                    f"{self.name} exited before it was ready; end of {self.log_path}:\n"
                    f"{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{self.name} was not ready within {self._startup_timeout:g} s; "
                    f"end of {self.log_path}:\n{log_tail(self.log_path)}"
                )
            await asyncio.sleep(READY_POLL_SECONDS)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after the stop timeout; harmless when not running."""
        await self._process.stop()

    def rss_bytes(self) -> int:
        """Resident memory now (VmRSS of /proc/<pid>/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise ServerError(f"no VmRSS for {self.name} (pid {self.pid}): has it exited?")

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far (utime and stime of /proc/<pid>/stat)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # Fields after the parenthesised command name, which may itself hold spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
