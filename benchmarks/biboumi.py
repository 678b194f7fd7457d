"""Biboumi, the reference gateway, run from the Debian package as its operator ships it."""

import os
from collections.abc import Sequence
from pathlib import Path

from benchmarks.child_process import ChildProcess
from benchmarks.xmpp_client import XmppClient
from bridge.devservers import ComponentSpec
from bridge.devservers.ports import LOOPBACK
from bridge.devservers.process import find_binary

_READY_LINE = b"Authenticated with the XMPP server"
_INFO = 1  # Biboumi's log levels: 0 debug, 1 info, 2 warning, 3 error


class BiboumiProcess:
    """`biboumi <config>` with its SQLite database (archive on, as shipped) in `workdir`.

    The component password goes in the environment (BIBOUMI_PASSWORD overrides the file),
    identd is off (no port 113), and it is ready once its log says Prosody accepted it.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        component_port: int,
        component: ComponentSpec,
        irc_server: str,
        irc_port: int,
        startup_timeout: float = 20.0,
    ) -> None:
        self.workdir = workdir
        self.domain = component.domain
        self.config_path = workdir / "biboumi.cfg"
        self.log_path = workdir / "biboumi.log"
        self._component_port = component_port
        self._irc_server = irc_server
        self._irc_port = irc_port
        self._child = ChildProcess(
            "biboumi",
            [find_binary("biboumi", "biboumi"), str(self.config_path)],
            log_path=self.log_path,  # its log goes to stdout when no log_file is set
            cwd=workdir,
            env={**os.environ, "BIBOUMI_PASSWORD": component.secret},
            ready=self._authenticated,
            startup_timeout=startup_timeout,
            stop_timeout=5.0,  # it waits up to 2 s for IRC servers to acknowledge QUIT
        )

    @property
    def pid(self) -> int:
        return self._child.pid

    def server_jid(self) -> str:
        """The IRC server's JID on Biboumi, where its ad-hoc `configure` runs."""
        return f"{self._irc_server}@{self.domain}"

    async def start(self) -> float:
        """Write the config, spawn, and return the seconds until Prosody accepted the component."""
        self.log_path.unlink(missing_ok=True)  # a line of an earlier run must not count
        self.config_path.write_text(self._config())
        return await self._child.start()

    async def stop(self) -> None:
        await self._child.stop()

    def rss_bytes(self) -> int:
        return self._child.rss_bytes()

    def cpu_seconds(self) -> float:
        return self._child.cpu_seconds()

    async def configure_user(self, client: XmppClient) -> None:
        """Point this user's connections to the IRC server at ngircd, without pacing.

        Biboumi has no operator-wide server settings: each user sets the address and ports,
        and throttle_limit -1 to match the gateway's preset (ngircd has no flood penalty).
        """
        fields: dict[str, str | list[str]] = {
            "address": LOOPBACK,
            "ports": [str(self._irc_port)],
            "tls_ports": [],
            "throttle_limit": "-1",
        }
        await client.command(self.server_jid(), "configure", fields)

    async def _authenticated(self) -> bool:
        try:
            return _READY_LINE in self.log_path.read_bytes()
        except FileNotFoundError:
            return False

    def _config(self) -> str:
        settings: Sequence[tuple[str, str | int]] = (
            ("hostname", self.domain),
            ("xmpp_server_ip", LOOPBACK),
            ("port", self._component_port),
            ("db_name", str(self.workdir / "biboumi.sqlite")),
            ("identd_port", 0),
            ("log_level", _INFO),
            ("policy_directory", str(self.workdir)),
        )
        return "".join(f"{key}={value}\n" for key, value in settings)
