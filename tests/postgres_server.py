"""A throw-away PostgreSQL 15 cluster for the tests: temp directory, free loopback port.

PostgreSQL refuses to run as root, so as root the cluster belongs to a system user
(``xbtest``, created when absent) and runs under ``runuser``. The server trusts local
connections (it listens on 127.0.0.1 only and lives for one test session).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = "xbtest"
START_TIMEOUT = 30.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be started; the text says why and what to do."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_service_user() -> list[str]:
    """The command prefix that runs a program as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
        )
    return ["runuser", "-u", SERVICE_USER, "--"]


@dataclass
class PostgresServer:
    """A running cluster; :meth:`create_database` gives each test a database of its own."""

    directory: Path
    port: int
    user: str
    process: subprocess.Popen[bytes]
    _names: Iterator[int]

    @classmethod
    def start(cls) -> PostgresServer:
        if not (BIN / "postgres").exists():
            raise PostgresUnavailable(
                f"PostgreSQL 15 binaries not found in {BIN}: apt-get install postgresql"
            )
        prefix = _as_service_user()
        directory = Path(tempfile.mkdtemp(prefix="xb-pg-"))
        user = SERVICE_USER if prefix else pwd.getpwuid(os.geteuid()).pw_name
        if prefix:
            shutil.chown(directory, SERVICE_USER, SERVICE_USER)
        data = directory / "data"
        subprocess.run(
            [
                *prefix,
                str(BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        with (directory / "postgres.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [
                    *prefix,
                    str(BIN / "postgres"),
                    "-D", str(data),
                    "-k", str(directory),
                    "-p", str(port),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", "fsync=off",
                    "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = cls(directory, port, user, process, count(1))
        server._wait_until_ready(prefix)
        return server

    def _wait_until_ready(self, prefix: list[str]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PostgresUnavailable(f"postgres exited at start:\n{self._log_tail()}")
            ready = subprocess.run(
                [*prefix, str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise PostgresUnavailable(
            f"postgres not ready after {START_TIMEOUT} s:\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        return (self.directory / "postgres.log").read_text(errors="replace")[-2000:]

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"test_{next(self._names)}"
        subprocess.run(
            [str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name],
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster), then remove the cluster."""
        if self.process.poll() is None:
            pid_file = self.directory / "data" / "postmaster.pid"
            if pid_file.exists():
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One cluster for the whole session; import this fixture into one test module only."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()
