"""A throw-away ngircd on loopback, with flood control and connection limits lifted for tests."""

from dataclasses import dataclass, field
from pathlib import Path

from bridge.devservers.ports import LOOPBACK, free_port
from bridge.devservers.process import ManagedServer, ServerError, ServerProcess, find_binary


@dataclass(frozen=True)
class IrcOperator:
    """An [Operator] block: a client sending `OPER name password` becomes an IRC operator."""

    name: str
    password: str = field(repr=False)


def _check_setting(value: str, what: str) -> str:
    """ngircd's config is `Key = value` lines: a value must be one printable line."""
    if not value or not value.isprintable() or value != value.strip():
        raise ServerError(f"ngircd {what} {value!r} must be one printable line without edge spaces")
    return value


class Ngircd(ManagedServer):
    """ngircd run in the foreground from a config written into `workdir`.

    As root, ngircd refuses to keep root and switches to user `nobody`, which cannot write
    into a private temporary directory; the launcher holds the process handle itself, so the
    config writes no PID file (and never touches /var/run). The MOTD is read at start-up,
    before ngircd drops privileges, so it lives in `workdir`.
    """

    def __init__(
        self,
        workdir: Path,
        name: str = "irc.localhost",
        *,
        operator: IrcOperator | None = None,
        password: str | None = None,
        webirc_password: str | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        if "." not in name:
            raise ServerError(f"ngircd server name {name!r} must contain a dot, e.g. irc.localhost")
        self.workdir = workdir
        self.name = _check_setting(name, "server name")
        if operator is not None:
            _check_setting(operator.name, "operator name")
            _check_setting(operator.password, "operator password")
        self.operator = operator
        self.password = None if password is None else _check_setting(password, "password")
        self.webirc_password = (
            None if webirc_password is None else _check_setting(webirc_password, "WebIRC password")
        )
        self.port = free_port()
        self.config_path = workdir / "ngircd.conf"
        self.motd_path = workdir / "ngircd.motd"
        self.log_path = workdir / "ngircd.log"
        self._process = ServerProcess(
            "ngircd",
            [],
            log_path=self.log_path,
            ports=[self.port],
            cwd=workdir,
            startup_timeout=startup_timeout,
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def start(self) -> None:
        """Write the config and start ngircd; return once its port accepts connections."""
        self._process.argv = [find_binary("ngircd", "ngircd"), "-n", "-f", str(self.config_path)]
        self.motd_path.write_text(f"Throw-away test server {self.name}.\n")
        self.config_path.write_text(self._config())
        await self._process.start()

    async def stop(self) -> None:
        await self._process.stop()

    def _config(self) -> str:
        lines = [
            "# Written by bridge.devservers for a throw-away server; not for production.",
            "[Global]",
            f"Name = {self.name}",
            "Info = xmpp-bridge test server",
            "AdminInfo1 = xmpp-bridge test suite",
            "AdminInfo2 = loopback only",
            "AdminEMail = nobody@localhost",
            f"Listen = {LOOPBACK}",
            f"Ports = {self.port}",
            f"MotdFile = {self.motd_path}",
            "PidFile =",
            *([f"Password = {self.password}"] if self.password is not None else []),
            "[Limits]",
            # No flood penalty: tests and benchmarks send bursts; the gateway paces itself.
            "MaxPenaltyTime = 0",
            "MaxConnectionsIP = 0",
            "MaxJoins = 0",
            "MaxNickLength = 30",
            "[Options]",
            # ngircd takes a WEBIRC hostname only with DNS on (otherwise it shows the IP).
            f"DNS = {'yes' if self.webirc_password else 'no'}",
            "Ident = no",
            "PAM = no",
            *([f"WebIRCPassword = {self.webirc_password}"] if self.webirc_password else []),
        ]
        if self.operator is not None:
            lines += [
                "OperCanUseMode = yes",
                "[Operator]",
                f"Name = {self.operator.name}",
                f"Password = {self.operator.password}",
            ]
        return "\n".join(lines) + "\n"
