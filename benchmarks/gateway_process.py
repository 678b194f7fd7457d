"""xmpp-bridge as the benchmarks run it: a child process, configured as a LAN operator would."""

import contextlib
import json
import os
import sys
from pathlib import Path

import aiohttp

from benchmarks.child_process import ChildProcess
from bridge.devservers import ComponentSpec, free_port
from bridge.devservers.ports import LOOPBACK
from bridge.secrets import generate_key

_IRC_SECRET_ENV = "XMPP_BRIDGE_BENCH_IRC_SECRET"
_MATRIX_SECRET_ENV = "XMPP_BRIDGE_BENCH_MATRIX_SECRET"
_KEY_ENV = "XMPP_BRIDGE_KEY"
_HEALTH_TIMEOUT = aiohttp.ClientTimeout(total=1.0)
# Raised so no benchmark meets a limit meant for public servers; the rest is as shipped.
_SESSIONS = 10_000
_MESSAGES_PER_MINUTE = 1_000_000


def _toml(value: str | int | bool | list[int]) -> str:
    """A TOML value; JSON's string escapes are valid in TOML basic strings."""
    return json.dumps(value)


class GatewayProcess:
    """`xmpp-bridge run -c` with one IRC gateway and, when given its component, a Matrix one.

    The SQLite database (archive on, the default) and the INFO log are in `workdir`; /health
    on a free loopback port tells when every gateway's component link is up.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        component_port: int,
        irc: ComponentSpec,
        irc_server: str,
        irc_port: int,
        matrix: ComponentSpec | None = None,
        executable: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.workdir = workdir
        self.irc_domain = irc.domain
        self.matrix_domain = matrix.domain if matrix is not None else ""
        """Empty when the stack runs no Matrix gateway."""
        self.http_port = free_port()
        self.config_path = workdir / "xmpp-bridge.toml"
        self._component_port = component_port
        self._irc_server = irc_server
        self._irc_port = irc_port
        self._gateways = 1 if matrix is None else 2
        self._session: aiohttp.ClientSession | None = None
        # As installed by pip, which compiles the bytecode once: a PYTHONDONTWRITEBYTECODE
        # inherited from the caller would make every start compile ~150 modules again.
        inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env = {
            **inherited,
            "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
            _KEY_ENV: generate_key(),
            _IRC_SECRET_ENV: irc.secret,
        }
        if matrix is not None:
            env[_MATRIX_SECRET_ENV] = matrix.secret
        program = executable or Path(sys.executable).with_name("xmpp-bridge")
        self._child = ChildProcess(
            "xmpp-bridge",
            [str(program), "run", "-c", str(self.config_path)],
            log_path=workdir / "xmpp-bridge.log",
            cwd=workdir,
            env=env,
            ready=self._healthy,
            startup_timeout=startup_timeout,
            stop_timeout=10.0,
        )

    @property
    def pid(self) -> int:
        return self._child.pid

    async def start(self) -> float:
        """Write the config, spawn, and return the seconds until every component link was up."""
        self.config_path.write_text(self._config())
        self._session = aiohttp.ClientSession(timeout=_HEALTH_TIMEOUT)
        try:
            return await self._child.start()
        finally:
            await self._session.close()
            self._session = None

    async def stop(self) -> None:
        await self._child.stop()

    def rss_bytes(self) -> int:
        return self._child.rss_bytes()

    def cpu_seconds(self) -> float:
        return self._child.cpu_seconds()

    async def _healthy(self) -> bool:
        assert self._session is not None
        url = f"http://{LOOPBACK}:{self.http_port}/health"
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
            async with self._session.get(url) as answer:
                body = await answer.json()
                return answer.status == 200 and len(body["gateways"]) == self._gateways
        return False

    def _config(self) -> str:
        database = self.workdir / "xmpp-bridge.db"
        lines = [
            "[database]",
            f"url = {_toml(f'sqlite+aiosqlite:///{database}')}",
            "[http]",
            "enabled = true",
            f"host = {_toml(LOOPBACK)}",
            f"port = {self.http_port}",
            "[logging]",
            'level = "INFO"',
            *self._gateway("irc", self.irc_domain, _IRC_SECRET_ENV),
            f"[gateway.options.networks.{_toml(self._irc_server)}]",
            f"address = {_toml(LOOPBACK)}",
            f"ports = {_toml([self._irc_port])}",
            "tls_ports = []",
            "throttle_limit = -1",  # no pacing: ngircd runs without flood penalty, as for Biboumi
        ]
        if self.matrix_domain:
            lines += self._gateway("matrix", self.matrix_domain, _MATRIX_SECRET_ENV)
        return "\n".join(lines) + "\n"

    def _gateway(self, network: str, domain: str, secret_env: str) -> list[str]:
        return [
            "[[gateway]]",
            f"domain = {_toml(domain)}",
            f"network = {_toml(network)}",
            f"server_host = {_toml(LOOPBACK)}",
            f"server_port = {self._component_port}",
            f"secret_env = {_toml(secret_env)}",
            "[gateway.hosts]",
            "allow_private = true",
            "[gateway.limits]",
            f"sessions = {_SESSIONS}",
            f"messages_per_minute = {_MESSAGES_PER_MINUTE}",
        ]
