"""One server child process: spawn it, wait until it listens, stop it without leaving it running."""

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from bridge.devservers.ports import LOOPBACK

SYSTEM_BINARY_DIRS = "/usr/sbin:/usr/bin:/sbin:/bin"
LOG_TAIL_LINES = 30

PortProbe = Callable[[int], Awaitable[bool]]
"""Answers whether the server is ready on one port (connection refused means not yet)."""


class ServerError(RuntimeError):
    """A development server could not be found, started or stopped."""


def find_binary(name: str, debian_package: str) -> str:
    """Return the path of a server binary, or say how to install it (sbin is often off PATH)."""
    found = shutil.which(name) or shutil.which(name, path=SYSTEM_BINARY_DIRS)
    if found is None:
        raise ServerError(
            f"{name} is not installed (not on PATH nor in {SYSTEM_BINARY_DIRS}): "
            f"run `apt-get install {debian_package}`"
        )
    return found


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a server log, for error messages that show why the server failed."""
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {log_path})"
    return "\n".join(text.splitlines()[-lines:])


class ServerProcess:
    """A server binary run in the foreground, its stdout and stderr appended to a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        ports: Sequence[int],
        cwd: Path,
        probe: PortProbe | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ports = list(ports)
        self.probe = probe or accepts_connections
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id while it was started (kept after exit, for checks)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Spawn the server and return once every port accepts connections."""
        if self.running:
            raise ServerError(f"{self.name} is already running (pid {self.pid})")
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
            )
        try:
            await self._wait_until_listening()
        except BaseException:
            await self.stop()
            raise

    async def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        waiting = list(self.ports)
        while waiting:
            if not self.running:
                raise ServerError(
                    f"{self.name} exited with code {self._returncode()} before listening on "
                    f"{LOOPBACK}:{waiting[0]}; end of {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{self.name} did not listen on {LOOPBACK}:{waiting[0]} within "
                    f"{self.startup_timeout:g} s; end of {self.log_path}:\n"
                    f"{log_tail(self.log_path)}"
                )
            if await self.probe(waiting[0]):
                waiting.pop(0)
            else:
                await asyncio.sleep(0.05)

    def _returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def stop(self) -> None:
        """Terminate the server, kill it if it lingers, and reap it; harmless when not running."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def accepts_connections(port: int) -> bool:
    """The default readiness probe: the port accepts a TCP connection."""
    try:
        _, writer = await asyncio.open_connection(LOOPBACK, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class ManagedServer:
    """`async with server:` starts it and always stops it, for servers with start() and stop()."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
