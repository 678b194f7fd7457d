"""Which XMPP ids and which legacy id name the same message, per user and conversation.

Every message the core delivers or reflects is remembered here with its XMPP ids (the
``id`` the client saw and the XEP-0359 stanza-id), the legacy id once the network gave
one, and who wrote it and how it starts (for the text fallbacks of replies and reactions).

Recent messages live in a bounded memory, so delivery never waits for the database; the
id pairs are also written behind, in the background, to the store's
:class:`~bridge.store.idmap.IdMap`, and read back from it when a relation names a message
the memory has forgotten (after a restart). Only the id pairs outlive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Protocol

from bridge.addressing import ContactAddress, Grammar, RoomAddress, ServerAddress

log = logging.getLogger(__name__)

Conversation = RoomAddress | ContactAddress | ServerAddress
EXCERPT_CHARS = 40


class IdStore(Protocol):
    """What this needs of :class:`bridge.store.idmap.IdMap`."""

    async def put(
        self, gateway: str, user: str, conversation: str, *, xmpp_id: str, legacy_id: str
    ) -> None: ...

    async def legacy_for_xmpp(
        self, gateway: str, user: str, conversation: str, xmpp_id: str
    ) -> str | None: ...

    async def xmpp_for_legacy(
        self, gateway: str, user: str, conversation: str, legacy_id: str
    ) -> str | None: ...


@dataclass
class KnownMessage:
    """One message as both sides name it (filled in as the ids become known)."""

    message_id: str
    """The ``id`` its recipients saw: what a correction names."""
    stanza_id: str
    """The XEP-0359 stanza-id: what reactions, replies and markers name in a room."""
    legacy_id: str | None = None
    author: str = ""
    excerpt: str = ""
    xmpp_ids: set[str] = field(default_factory=set)
    stored: set[str] = field(default_factory=set)
    """The XMPP ids already queued for the store with the current legacy id."""


_Key = tuple[str, str, str]  # (user, conversation, id)


class MessageIds:
    """The id map of one gateway: memory first, the store behind it."""

    def __init__(
        self,
        grammar: Grammar,
        gateway: str,
        store: IdStore | None = None,
        *,
        capacity: int = 50_000,
        backlog: int = 10_000,
    ) -> None:
        """*capacity* messages are kept in memory; at most *backlog* id pairs wait for the
        store (beyond that the oldest are dropped: the database is down or too slow)."""
        self._grammar = grammar
        self._gateway = gateway
        self._store = store
        self._capacity = capacity
        self._by_xmpp: OrderedDict[_Key, KnownMessage] = OrderedDict()
        self._by_legacy: OrderedDict[_Key, KnownMessage] = OrderedDict()
        self._unwritten: deque[tuple[str, str, str, str]] = deque(maxlen=backlog)
        self._has_unwritten = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def remember(
        self,
        user: str,
        where: Conversation,
        *,
        message_id: str,
        stanza_id: str,
        legacy_id: str | None,
        author: str,
        body: str,
    ) -> KnownMessage:
        """A message just delivered or reflected; merges with what :meth:`bind` already knew."""
        conversation = self._grammar.format(where)
        known = self._by_xmpp.get((user, conversation, message_id))
        if known is None:
            known = KnownMessage(message_id, stanza_id)
        known.message_id, known.stanza_id = message_id, stanza_id
        known.author, known.excerpt = author, excerpt(body)
        self._index(user, conversation, known, {message_id, stanza_id}, legacy_id)
        return known

    def bind(self, user: str, where: Conversation, xmpp_id: str, legacy_id: str) -> None:
        """The network named the user's message *xmpp_id* (XEP-0359 origin-id) *legacy_id*."""
        conversation = self._grammar.format(where)
        known = self._by_xmpp.get((user, conversation, xmpp_id)) or KnownMessage(xmpp_id, xmpp_id)
        self._index(user, conversation, known, {xmpp_id}, legacy_id)

    def by_xmpp(self, user: str, where: Conversation, xmpp_id: str) -> KnownMessage | None:
        return self._by_xmpp.get((user, self._grammar.format(where), xmpp_id))

    def by_legacy(self, user: str, where: Conversation, legacy_id: str) -> KnownMessage | None:
        return self._by_legacy.get((user, self._grammar.format(where), legacy_id))

    async def legacy_id(self, user: str, where: Conversation, xmpp_id: str) -> str | None:
        """The legacy id of the message a client names *xmpp_id*, from memory or the store."""
        known = self.by_xmpp(user, where, xmpp_id)
        if known is not None and known.legacy_id is not None:
            return known.legacy_id
        if self._store is None:
            return None
        conversation = self._grammar.format(where)
        return await self._store.legacy_for_xmpp(self._gateway, user, conversation, xmpp_id)

    async def load_legacy(self, user: str, where: Conversation, legacy_id: str) -> None:
        """Bring *legacy_id*'s XMPP id back from the store into memory, when it is there."""
        if self._store is None or self.by_legacy(user, where, legacy_id) is not None:
            return
        conversation = self._grammar.format(where)
        xmpp_id = await self._store.xmpp_for_legacy(self._gateway, user, conversation, legacy_id)
        if xmpp_id is not None:
            known = KnownMessage(xmpp_id, xmpp_id, legacy_id)
            self._index(user, conversation, known, {xmpp_id}, None)

    async def close(self) -> None:
        """Write what is still waiting, then stop the writer."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self._write_unwritten()

    # ------------------------------------------------------------------ internals

    def _index(
        self,
        user: str,
        conversation: str,
        known: KnownMessage,
        xmpp_ids: set[str],
        legacy_id: str | None,
    ) -> None:
        known.xmpp_ids |= xmpp_ids
        if legacy_id is not None and legacy_id != known.legacy_id:
            known.legacy_id, known.stored = legacy_id, set()
        for xmpp_id in known.xmpp_ids:
            self._put(self._by_xmpp, (user, conversation, xmpp_id), known)
        if known.legacy_id is None:
            return
        self._put(self._by_legacy, (user, conversation, known.legacy_id), known)
        # The message id goes last, so it is the one the store's newest-first lookup finds.
        unstored = sorted(known.xmpp_ids - known.stored - {known.message_id})
        if known.message_id not in known.stored:
            unstored.append(known.message_id)
        for xmpp_id in unstored:
            self._write_behind(user, conversation, xmpp_id, known.legacy_id)
        known.stored |= set(unstored)

    def _put(self, index: OrderedDict[_Key, KnownMessage], key: _Key, known: KnownMessage) -> None:
        index[key] = known
        index.move_to_end(key)
        while len(index) > self._capacity:
            index.popitem(last=False)

    def _write_behind(self, user: str, conversation: str, xmpp_id: str, legacy_id: str) -> None:
        """Queue the pair for the store, written in the background."""
        if self._store is None:
            return
        self._unwritten.append((user, conversation, xmpp_id, legacy_id))
        self._has_unwritten.set()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_continuously())

    async def _write_continuously(self) -> None:
        while True:
            await self._has_unwritten.wait()
            try:
                await self._write_unwritten()
            except Exception:
                log.warning("id map write failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def _write_unwritten(self) -> None:
        assert self._store is not None or not self._unwritten
        while self._unwritten and self._store is not None:
            user, conversation, xmpp_id, legacy_id = self._unwritten[0]
            await self._store.put(
                self._gateway, user, conversation, xmpp_id=xmpp_id, legacy_id=legacy_id
            )
            self._unwritten.popleft()
        self._has_unwritten.clear()


def excerpt(body: str) -> str:
    """The start of *body*'s first line, as a fallback quotes it."""
    first = body.strip().split("\n", 1)[0]
    return first if len(first) <= EXCERPT_CHARS else first[: EXCERPT_CHARS - 1] + "…"
