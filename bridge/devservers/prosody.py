"""A throw-away Prosody on loopback: open insecure logins, external components, a MUC service."""

import asyncio
import contextlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bridge.devservers.ports import LOOPBACK, free_port
from bridge.devservers.process import ManagedServer, ServerError, ServerProcess, find_binary

_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_PROBE_ANSWER_TIMEOUT = 2.0
_CLIENT_NAMESPACE = "jabber:client"
_COMPONENT_NAMESPACE = "jabber:component:accept"
_PROBE_COMPONENT_DOMAIN = "readiness-probe.invalid"  # named so the refusal reads well in the log
_LOG_LEVELS = ("debug", "info", "warn", "error")

# Modules beyond Prosody's always-loaded core (c2s, presence, message, iq, offline): what an
# ordinary client expects of its server. No mod_tls (no certificates); mod_privilege only when
# asked for (it comes from Debian's prosody-modules, not from prosody).
_MODULES = (
    "roster",
    "saslauth",
    "disco",
    "ping",
    "version",
    "time",
    "uptime",
    "carbons",
    "pep",
    "private",
    "bookmarks",
    "blocklist",
    "vcard_legacy",
)
MOD_PRIVILEGE = Path("/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua")
# XEP-0356 grants of a privileged server to every component, in mod_privilege's syntax: roster
# pushes, messages on the server's behalf, presences, and PEP writes (XEP-0402 bookmarks).
# No presence permission: with it the server forwards every local user's presence to the
# gateway, which has no use for presences of people who never subscribed to it.
_PRIVILEGES = (
    'roster = "both"; message = "outgoing"; iq = { ["http://jabber.org/protocol/pubsub"] = "set" }'
)


@dataclass(frozen=True)
class ComponentSpec:
    """An XEP-0114 component the server accepts: its domain and the secret it must present."""

    domain: str
    secret: str = field(repr=False)


async def _answers_stream_open(port: int, namespace: str, to: str) -> bool:
    """Readiness probe: the port answers an XMPP stream header.

    A bare connect-and-close races Prosody's accept handler into an error in its log; a
    stream header gets a real answer and a clean close.
    """
    try:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
    except OSError:
        return False
    try:
        writer.write(
            f"<?xml version='1.0'?><stream:stream to='{to}' xmlns='{namespace}' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>".encode()
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), _PROBE_ANSWER_TIMEOUT)
        writer.write(b"</stream:stream>")
        return b"<stream:stream" in answer
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _check_domain(domain: str, what: str) -> str:
    if not _DOMAIN.match(domain):
        raise ServerError(f"{what} {domain!r} is not a lower-case DNS name such as 'localhost'")
    return domain


def _lua(value: str) -> str:
    """A Lua string literal for a value written into the generated config."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _lua_list(values: Sequence[str | int]) -> str:
    items = ", ".join(_lua(v) if isinstance(v, str) else str(v) for v in values)
    return "{ " + items + " }"


class Prosody(ManagedServer):
    """Prosody run in the foreground from a config written into `workdir`.

    Any username logs in with any password over plain TCP, so tests create users by
    connecting. Storage is in memory: each start is a fresh server. A `privileged` server
    grants every component XEP-0356 privileges through mod_privilege.
    """

    def __init__(
        self,
        workdir: Path,
        domain: str = "localhost",
        components: Sequence[ComponentSpec] = (),
        *,
        log_level: str = "info",
        startup_timeout: float = 20.0,
        privileged: bool = False,
    ) -> None:
        if log_level not in _LOG_LEVELS:
            raise ServerError(f"Prosody log_level {log_level!r} is not one of {_LOG_LEVELS}")
        self.workdir = workdir
        self.domain = _check_domain(domain, "XMPP domain")
        self.muc_domain = f"conference.{domain}"
        self.components = tuple(components)
        for component in self.components:
            _check_domain(component.domain, "component domain")
        self.log_level = log_level
        self.privileged = privileged
        if self.privileged and not MOD_PRIVILEGE.is_file():
            raise ServerError(
                f"a privileged Prosody needs mod_privilege ({MOD_PRIVILEGE} is missing): "
                "run `apt-get install prosody-modules`"
            )
        self.c2s_port = free_port()
        self.component_port = free_port()
        self.config_path = workdir / "prosody.cfg.lua"
        self.log_path = workdir / "prosody.log"
        self._process = ServerProcess(
            "prosody",
            [],
            log_path=self.log_path,
            ports=[self.c2s_port, self.component_port],
            cwd=workdir,
            probe=self._answers_stream_open,
            startup_timeout=startup_timeout,
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    async def start(self) -> None:
        """Write the config and start Prosody; return once client and component ports listen."""
        self._process.argv = [find_binary("prosody", "prosody"), "-F"]
        for directory in ("data", "certs"):  # an absent certs directory is logged as an error
            (self.workdir / directory).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._config())
        self._process.env = {**os.environ, "PROSODY_CONFIG": str(self.config_path)}
        await self._process.start()

    async def stop(self) -> None:
        await self._process.stop()

    async def _answers_stream_open(self, port: int) -> bool:
        if port == self.component_port:
            return await _answers_stream_open(port, _COMPONENT_NAMESPACE, _PROBE_COMPONENT_DOMAIN)
        return await _answers_stream_open(port, _CLIENT_NAMESPACE, self.domain)

    def _config(self) -> str:
        privilege = ["privilege"] if self.privileged else []
        lines = [
            "-- Written by bridge.devservers for a throw-away server; not for production.",
            "run_as_root = true",
            f"pidfile = {_lua(str(self.workdir / 'prosody.pid'))}",
            f"data_path = {_lua(str(self.workdir / 'data'))}",
            f"certificates = {_lua(str(self.workdir / 'certs'))}",
            f"log = {{ {{ levels = {{ min = {_lua(self.log_level)} }}, "
            f"to = {_lua('file')}, filename = {_lua(str(self.log_path))} }} }}",
            f"interfaces = {_lua_list([LOOPBACK])}",
            f"c2s_ports = {_lua_list([self.c2s_port])}",
            f"c2s_interfaces = {_lua_list([LOOPBACK])}",
            "c2s_direct_tls_ports = { }",
            f"component_ports = {_lua_list([self.component_port])}",
            f"component_interfaces = {_lua_list([LOOPBACK])}",
            "http_ports = { }",
            "https_ports = { }",
            'modules_disabled = { "s2s" }',
            f"modules_enabled = {_lua_list([*_MODULES, *privilege])}",
            "c2s_require_encryption = false",
            "allow_unencrypted_plain_auth = true",
            'authentication = "insecure"',
            'insecure_open_authentication = "Yes please, I know what I\'m doing!"',
            'storage = "memory"',
            "",
            f"VirtualHost {_lua(self.domain)}",
        ]
        if self.privileged:
            granted = ", ".join(
                f"[{_lua(c.domain)}] = {{ {_PRIVILEGES} }}" for c in self.components
            )
            lines.append(f"    privileged_entities = {{ {granted} }}")
        lines += [
            "",
            f"Component {_lua(self.muc_domain)} {_lua('muc')}",
            "    muc_room_locking = false",
            "    restrict_room_creation = false",
        ]
        for component in self.components:
            lines += [
                "",
                f"Component {_lua(component.domain)}",
                f"    component_secret = {_lua(component.secret)}",
            ]
            if self.privileged:  # a component inherits no module from the global list
                lines.append(f"    modules_enabled = {_lua_list(privilege)}")
        return "\n".join(lines) + "\n"
