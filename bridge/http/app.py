"""The aiohttp server: ``/health``, ``/metrics`` and ``/media/<token>``.

Started by :class:`bridge.app.Bridge` before the gateways, so the link base URL is known
(the bound port, when the config asks for any free one). No access log: media URLs
carry tokens that are as good as the files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import web

from bridge.config import HttpConfig
from bridge.gateway import Gateway
from bridge.http.media import MediaProxy
from bridge.http.metrics import CONTENT_TYPE, ArchiveStats, GatewayStats, exposition
from bridge.http.signing import MediaSigner
from bridge.network import LegacySession
from bridge.store.archive_writer import ArchiveWriter

log = logging.getLogger(__name__)


class HttpServer:
    """Serves *gateways* (a live list: gateways added later are served too)."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        gateways: Sequence[Gateway],
        signer: MediaSigner,
        archive: ArchiveWriter | None,
    ) -> None:
        self._config = config
        self._gateways = gateways
        self._archive = archive
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        """Where clients reach this server; set by :meth:`start`."""
        proxy = MediaProxy(signer, self._session_of, config.max_media_bytes)
        self.app = web.Application()
        self.app.router.add_get("/health", self._health)
        self.app.router.add_get("/metrics", self._metrics)
        self.app.router.add_get("/media/{token}", proxy.handle)
        self.app.router.add_get("/media/{token}/{name}", proxy.handle)

    async def start(self) -> str:
        """Listen; returns the base URL for links (``public_url``, else the bound address)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._config.host, self._config.port)
        await site.start()
        port = self._config.port or int(self._runner.addresses[0][1])
        self.base_url = self._config.public_url or f"http://{_url_host(self._config.host)}:{port}"
        log.info("HTTP server on %s:%d, links as %s", self._config.host, port, self.base_url)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stats(self) -> list[GatewayStats]:
        return [
            GatewayStats(
                domain=g.domain,
                link_up=g.link.up.is_set(),
                connects=g.link.connects,
                queued=g.link.queued,
                dropped=g.link.dropped,
                sessions=len(g.sessions.users()),
            )
            for g in self._gateways
        ]

    async def _health(self, _: web.Request) -> web.Response:
        stats = self.stats()
        healthy = all(s.link_up for s in stats)
        body = {
            "status": "ok" if healthy else "degraded",
            "gateways": [
                {
                    "domain": s.domain,
                    "link": "up" if s.link_up else "down",
                    "queued": s.queued,
                    "dropped": s.dropped,
                    "connects": s.connects,
                    "sessions": s.sessions,
                }
                for s in stats
            ],
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        archive = (
            ArchiveStats(self._archive.buffered, self._archive.dropped)
            if self._archive is not None
            else None
        )
        text = exposition(self.stats(), archive)
        return web.Response(body=text.encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})

    def _session_of(self, domain: str, user: str) -> LegacySession | None:
        gateway = next((g for g in self._gateways if g.domain == domain), None)
        return gateway.sessions.session_of(user) if gateway is not None else None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
