"""Every server of a benchmark run on loopback: Prosody, ngircd, Synapse, xmpp-bridge, Biboumi."""

import asyncio
import resource
import secrets
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from benchmarks.biboumi import BiboumiProcess
from benchmarks.gateway_process import GatewayProcess
from bridge.devservers import ComponentSpec, Ngircd, Prosody, Synapse
from bridge.devservers.process import ManagedServer, ServerError

XMPP_DOMAIN = "localhost"
IRC_SERVER = "irc.localhost"
MATRIX_SERVER = "matrix.localhost"
IRC_GATEWAY = "irc.xb.localhost"
MATRIX_GATEWAY = "matrix.xb.localhost"
BIBOUMI_DOMAIN = "biboumi.localhost"
OPEN_FILES = 65_536
"""Descriptors wanted by this process and its children: the scale scenario alone opens
2,000 XMPP and 2,000 IRC connections, on each side of the loopback."""


@dataclass(frozen=True)
class StackOptions:
    workdir: Path
    matrix: bool = True
    """Start Synapse and the Matrix gateway (needs XMPP_BRIDGE_SYNAPSE_PYTHON)."""
    biboumi: bool = True


def raise_open_files_limit(wanted: int = OPEN_FILES) -> int:
    """Raise RLIMIT_NOFILE, which children inherit, to `wanted` (or the hard limit when this
    process may not raise that); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):  # not root: the hard limit is as far as it goes
            pass
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def _component(domain: str) -> ComponentSpec:
    return ComponentSpec(domain, secrets.token_urlsafe(16))


class Stack:
    """`async with Stack(options) as stack:` starts everything, concurrently where it can, and
    stops everything on the way out, also when a start failed half-way.

    The gateway and Biboumi start last and one after the other, on a machine no longer busy
    starting servers, so their start-up times (`gateway_startup_seconds`,
    `biboumi_startup_seconds`) are comparable.
    """

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        workdir = options.workdir
        irc, matrix, biboumi = (
            _component(IRC_GATEWAY),
            _component(MATRIX_GATEWAY) if options.matrix else None,
            _component(BIBOUMI_DOMAIN) if options.biboumi else None,
        )
        components = [spec for spec in (irc, matrix, biboumi) if spec is not None]
        for name in ("prosody", "ngircd", "gateway", *(["synapse"] if matrix else [])):
            (workdir / name).mkdir(parents=True, exist_ok=True)
        if biboumi is not None:
            (workdir / "biboumi").mkdir(parents=True, exist_ok=True)
        self.prosody = Prosody(workdir / "prosody", XMPP_DOMAIN, components)
        self.ngircd = Ngircd(workdir / "ngircd", IRC_SERVER)
        self.synapse = Synapse(workdir / "synapse", MATRIX_SERVER) if options.matrix else None
        self.gateway = GatewayProcess(
            workdir / "gateway",
            component_port=self.prosody.component_port,
            irc=irc,
            irc_server=IRC_SERVER,
            irc_port=self.ngircd.port,
            matrix=matrix,
        )
        self.biboumi = (
            BiboumiProcess(
                workdir / "biboumi",
                component_port=self.prosody.component_port,
                component=biboumi,
                irc_server=IRC_SERVER,
                irc_port=self.ngircd.port,
            )
            if biboumi is not None
            else None
        )
        self.gateway_startup_seconds = 0.0
        self.biboumi_startup_seconds: float | None = None
        self.open_files_limit = 0
        self._exit = AsyncExitStack()

    async def __aenter__(self) -> Self:
        self.open_files_limit = raise_open_files_limit()
        try:
            servers: list[ManagedServer] = [self.prosody, self.ngircd]
            if self.synapse is not None:
                servers.append(self.synapse)
            await self._start_together(servers)
            if self.biboumi is not None:
                self._exit.push_async_callback(self.biboumi.stop)
                self.biboumi_startup_seconds = await self.biboumi.start()
            self._exit.push_async_callback(self.gateway.stop)
            self.gateway_startup_seconds = await self.gateway.start()
        except BaseException:
            await self._exit.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._exit.aclose()

    async def _start_together(self, servers: Sequence[ManagedServer]) -> None:
        """Start servers concurrently; each is stopped on exit (a stop before start is harmless),
        and when one fails, the task group cancels the others, which stop themselves."""
        for server in servers:
            self._exit.push_async_callback(server.stop)
        try:
            async with asyncio.TaskGroup() as group:
                for server in servers:
                    group.create_task(server.start())
        except* ServerError as failed:  # the reason, not a group: callers catch ServerError
            raise failed.exceptions[0] from None
