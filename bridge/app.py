"""The process: every configured gateway, one store, one archive writer."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from bridge.config import Config
from bridge.gateway import Gateway
from bridge.loader import load_network
from bridge.secrets import load_key
from bridge.store.archive_writer import ArchiveWriter
from bridge.store.migrate import upgrade
from bridge.store.store import Store

log = logging.getLogger(__name__)


class Bridge:
    def __init__(self, config: Config, environ: Mapping[str, str]) -> None:
        self.config = config
        self.environ = environ
        self.gateways: list[Gateway] = []
        self._store: Store | None = None
        self._writer: ArchiveWriter | None = None

    async def start(self) -> None:
        """Migrate the database, then attach every gateway (each reconnects on its own)."""
        box = load_key(self.config.secrets, self.environ)
        await upgrade(self.config.database.url)
        self._store = Store.open(self.config.database.url, box)
        self._writer = ArchiveWriter(self._store.archive)
        for gateway_config in self.config.gateway:
            network = load_network(gateway_config.network, gateway_config.options)
            gateway = Gateway(
                gateway_config,
                network,
                store=self._store,
                archive=self._writer,
                secret=gateway_config.component_secret(self.environ),
            )
            gateway.start()
            self.gateways.append(gateway)
            log.info("gateway %s (%s) started", gateway_config.domain, network.name)

    async def stop(self) -> None:
        await asyncio.gather(*(g.stop() for g in self.gateways), return_exceptions=True)
        self.gateways.clear()
        if self._writer is not None:
            await self._writer.close()
        if self._store is not None:
            await self._store.close()

    async def run_until_stopped(self) -> None:
        """Run until SIGINT or SIGTERM, then stop cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await self.stop()
