"""The XEP-0114 link to the XMPP server: connect, keep connected, never lose the queue.

slixmpp already holds back stanzas until the handshake, but without a bound and
without telling anyone. The link keeps its own bounded queue while the server is
away, counts what it had to drop, and reconnects with capped, jittered backoff.

It acknowledges what the server sends at once (TCP_QUICKACK after every read). Servers
may keep Nagle's algorithm on their side (Prosody does by default): their next stanza
then waits for our ACK of the last one, which Linux delays in the hope of carrying it on
a reply. Ours comes only once the message was relayed, or after 40 ms: a message typed
in a room waited that long whenever the previous one had not been answered yet.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any

from slixmpp import ComponentXMPP
from slixmpp.xmlstream import StanzaBase

from bridge.stanza_text import stanza_text

log = logging.getLogger(__name__)

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
"""Linux only; elsewhere the server's next stanza may wait for a delayed ACK."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts: doubling from *first* to *cap*, each with ±*jitter* share."""

    first: float = 0.5
    cap: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * 2.0**attempt)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


class ComponentLink:
    """Owns one ComponentXMPP stream and its reconnection."""

    def __init__(
        self,
        xmpp: ComponentXMPP,
        host: str,
        port: int,
        *,
        queue_limit: int = 10_000,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.xmpp = xmpp
        self.host = host
        self.port = port
        self.backoff = backoff
        self.up = asyncio.Event()
        self.dropped = 0
        self.connects = 0
        self._queue: deque[str] = deque()
        self._queue_limit = queue_limit
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._failed = asyncio.Event()
        self._receive = xmpp.data_received
        xmpp.data_received = self._data_received  # type: ignore[method-assign]
        xmpp.add_event_handler("session_start", self._on_session_start)
        xmpp.add_event_handler("disconnected", self._on_disconnected)
        xmpp.add_event_handler("connection_failed", self._on_connection_failed)
        xmpp.add_event_handler("stream_error", self._on_stream_error)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def send(self, stanza: StanzaBase) -> None:
        """Send now, or queue (bounded, oldest dropped first) while the server is away.

        The stanza is serialised here, once, by :func:`stanza_text`, and written at once
        when slixmpp has nothing waiting to be sent before it (else it goes behind that, in
        order): a room's echo that waits for slixmpp's sending task reaches the server
        after the next message the user typed, and delays it.
        """
        text = stanza_text(stanza.xml, self.xmpp.default_ns)
        if self.up.is_set():
            xmpp = self.xmpp
            if xmpp.transport is not None and xmpp.waiting_queue.empty():
                xmpp.transport.write(text.encode())
            else:
                xmpp.send(text)
            return
        if len(self._queue) >= self._queue_limit:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("XMPP link down: %d stanza(s) dropped from a full queue", self.dropped)
        self._queue.append(text)

    def _data_received(self, data: bytes | str) -> None:
        """Acknowledge at once (see the module's text), then let slixmpp parse."""
        transport = self.xmpp.transport
        if _QUICKACK is not None and transport is not None:
            raw = transport.get_extra_info("socket")
            if raw is not None:
                raw.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        self._receive(data)

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="component-link")

    async def close(self) -> None:
        """Flush what can be sent, then close the stream."""
        self._closing = True
        if self._runner is not None:
            self._runner.cancel()
        if self.up.is_set():
            self.up.clear()
            await self.xmpp.disconnect(wait=2.0)
        else:
            self.xmpp.cancel_connection_attempt()
            self.xmpp.abort()

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            self._lost.clear()
            self._failed.clear()
            self.xmpp.connect(self.host, self.port)
            outcome = await self._first_of(self.up, self._failed, self._lost)
            if outcome is self.up:
                attempt = 0
                await self._lost.wait()
                if self._closing:
                    return
                log.warning("XMPP link to %s:%d lost; reconnecting", self.host, self.port)
            else:
                self.xmpp.cancel_connection_attempt()
            delay = self.backoff.delay(attempt)
            attempt += 1
            log.info("XMPP server %s:%d unreachable; retry in %.1f s", self.host, self.port, delay)
            await asyncio.sleep(delay)

    @staticmethod
    async def _first_of(*events: asyncio.Event) -> asyncio.Event:
        waiters = {asyncio.ensure_future(e.wait()): e for e in events}
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return waiters[next(iter(done))]

    def _on_session_start(self, _: Any) -> None:
        self.connects += 1
        log.info("component %s connected to %s:%d", self.xmpp.boundjid, self.host, self.port)
        self.up.set()
        while self._queue and self.up.is_set():
            self.xmpp.send(self._queue.popleft())

    def _on_disconnected(self, _: Any) -> None:
        self.up.clear()
        self._lost.set()

    def _on_connection_failed(self, error: Any) -> None:
        log.debug("component connection failed: %s", error)
        self._failed.set()

    def _on_stream_error(self, error: Any) -> None:
        condition = error["condition"] if error is not None else "unknown"
        if condition == "not-authorized":
            log.error(
                "the XMPP server refused the component secret for %s: check `secret` in the "
                "[[gateway]] section and the server's component_secret",
                self.xmpp.boundjid,
            )
        else:
            log.error("XMPP stream error from the server: %s", condition)
