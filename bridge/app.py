"""The process: every configured gateway, one store, one archive writer."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.attachments import MediaPublisher
from bridge.config import Config, ConfigError, load_config
from bridge.errors import BadRequest
from bridge.gateway import Gateway
from bridge.http.signing import MediaSigner
from bridge.loader import load_network
from bridge.secrets import load_key
from bridge.store.archive_writer import ArchiveWriter
from bridge.store.migrate import upgrade
from bridge.store.store import Store

if TYPE_CHECKING:
    from bridge.http.app import HttpServer

log = logging.getLogger(__name__)


class Bridge:
    def __init__(
        self, config: Config, environ: Mapping[str, str], path: Path | None = None
    ) -> None:
        self.config = config
        self.environ = environ
        self.path = path
        self.gateways: list[Gateway] = []
        self._store: Store | None = None
        self._writer: ArchiveWriter | None = None
        self.http: HttpServer | None = None
        self._signer: MediaSigner | None = None

    async def start(self) -> None:
        """Migrate the database, then attach every gateway (each reconnects on its own)."""
        box = load_key(self.config.secrets, self.environ)
        await upgrade(self.config.database.url)
        self._store = Store.open(self.config.database.url, box)
        self._writer = ArchiveWriter(self._store.archive)
        if self.config.http.enabled:
            await self._start_http()
        for gateway_config in self.config.gateway:
            network = load_network(gateway_config.network, gateway_config.options)
            gateway = Gateway(
                gateway_config,
                network,
                store=self._store,
                archive=self._writer,
                secret=gateway_config.component_secret(self.environ),
                media=self._media_publisher(gateway_config.domain),
            )
            if self.path is not None:
                gateway.reloader = self.reload
            gateway.start()
            self.gateways.append(gateway)
            log.info("gateway %s (%s) started", gateway_config.domain, network.name)

    async def _start_http(self) -> None:
        """Listen for health checks, metrics and media before any gateway makes links.

        The server's library (aiohttp: ~120 modules, ~12 MB) is imported only here, so a
        gateway with HTTP off, as by default, runs without it.
        """
        from bridge.http.app import HttpServer

        secrets_key = self.config.secrets.encryption_key(self.environ)
        assert secrets_key is not None, "load_key() has refused a missing key"
        self._signer = MediaSigner.from_secrets_key(secrets_key)
        self.http = HttpServer(
            self.config.http, gateways=self.gateways, signer=self._signer, archive=self._writer
        )
        await self.http.start()

    def _media_publisher(self, domain: str) -> MediaPublisher | None:
        if self.http is None or self._signer is None:
            return None
        return MediaPublisher(
            domain, self._signer, self.http.base_url, self.config.http.media_ttl_seconds
        )

    async def reload(self) -> str:
        """Re-read the configuration file; policy, admins and limits apply at once."""
        assert self.path is not None
        try:
            config = load_config(self.path)
        except ConfigError as error:
            raise BadRequest(
                f"The configuration is not usable, nothing changed:\n{error}"
            ) from None
        sections = {section.domain: section for section in config.gateway}
        reloaded = []
        for gateway in self.gateways:
            section = sections.get(gateway.domain)
            if section is not None:
                gateway.reconfigure(section)
                reloaded.append(gateway.domain)
        self.config = config
        log.info("configuration reloaded for %s", ", ".join(reloaded))
        added = sorted(set(sections) - {g.domain for g in self.gateways})
        note = f" New gateways need a restart: {', '.join(added)}." if added else ""
        return f"Reloaded {', '.join(reloaded) or 'no gateway'}.{note}"

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()
            self.http = None
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
        _set_start_up_aside()
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await self.stop()


def _set_start_up_aside() -> None:
    """Keep what start-up built (modules, classes, models: ~100k objects that live as long as
    the process) out of the cyclic collector's full passes, each of which would otherwise walk
    them all: a 50-90 ms stop of the event loop, felt as a latency spike. No collection first:
    it would cost such a stop now, to free the ~1,000 objects start-up left behind."""
    gc.freeze()
    log.debug("start-up done: %d objects set aside from garbage collection", gc.get_freeze_count())
