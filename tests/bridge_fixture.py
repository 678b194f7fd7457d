"""Start the real bridge, in this process, against the session Prosody."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from bridge.app import Bridge
from bridge.config import Config
from bridge.devservers import ComponentSpec, Prosody
from bridge.gateway import Gateway
from bridge.secrets import generate_key
from tests.loopnet import WORLDS, World

LINK_TIMEOUT = 15.0
LOOPNET = "tests.loopnet:create"


@dataclass(frozen=True)
class Running:
    bridge: Bridge
    gateway: Gateway
    world: World
    spec: ComponentSpec
    database: Path

    @property
    def jid(self) -> str:
        return self.gateway.domain


class BridgeStarter(Protocol):
    def __call__(
        self,
        *,
        spec: ComponentSpec | None = None,
        options: dict[str, Any] | None = None,
        database: Path | None = None,
        network: str = LOOPNET,
        http: dict[str, Any] | None = None,
        **gateway: Any,
    ) -> Awaitable[Running]: ...


def bridge_config(
    prosody: Prosody,
    spec: ComponentSpec,
    database: Path,
    options: dict[str, Any],
    network: str = LOOPNET,
    http: dict[str, Any] | None = None,
    **gateway: Any,
) -> Config:
    return Config.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{database}"},
            "http": http or {},
            "gateway": [
                {
                    "domain": spec.domain,
                    "network": network,
                    "server_port": prosody.component_port,
                    "secret": spec.secret,
                    "options": options,
                    **gateway,
                }
            ],
        }
    )


@pytest.fixture
async def start_bridge(
    prosody: Prosody,
    take_component: Callable[[], ComponentSpec],
    tmp_path: Path,
) -> AsyncIterator[BridgeStarter]:
    """`run = await start_bridge(options={...}, admins=[...])`: a running bridge;
    `http={...}` is its [http] table.

    The same `spec` and `database` restart a gateway as it was (a process restart).
    Every bridge started is stopped when the test ends.
    """
    running: list[Bridge] = []
    key = generate_key()
    world = f"world-{secrets.token_hex(4)}"

    async def start(
        *,
        spec: ComponentSpec | None = None,
        options: dict[str, Any] | None = None,
        database: Path | None = None,
        network: str = LOOPNET,
        http: dict[str, Any] | None = None,
        **gateway: Any,
    ) -> Running:
        spec = spec or take_component()
        database = database or tmp_path / "bridge.db"
        config = bridge_config(
            prosody,
            spec,
            database,
            {"world": world, **(options or {})} if network == LOOPNET else dict(options or {}),
            network,
            http,
            **gateway,
        )
        bridge = Bridge(config, {"XMPP_BRIDGE_KEY": key})
        running.append(bridge)
        await bridge.start()
        started = bridge.gateways[0]
        await asyncio.wait_for(started.link.up.wait(), LINK_TIMEOUT)
        return Running(bridge, started, WORLDS.get(world, World()), spec, database)

    yield start
    for bridge in running:
        await bridge.stop()
