"""A server's public rooms as disco#items on `server@gw`, paged with XEP-0059 RSM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slixmpp.plugins.xep_0030.stanza.items import DiscoItems
from slixmpp.plugins.xep_0059.stanza import Set
from slixmpp.stanza import Iq
from slixmpp.xmlstream import register_stanza_plugin

from bridge.addressing import RoomAddress, ServerAddress
from bridge.errors import BadRequest, LegacyError
from bridge.replies import failure_reply
from bridge.sessions import SessionManager

register_stanza_plugin(DiscoItems, Set)

PAGE_MAX = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    """XEP-0059: at most *limit* items after *after*, or before *before* ("" = the last page)."""

    limit: int = PAGE_MAX
    after: str | None = None
    before: str | None = None

    @classmethod
    def of(cls, query: DiscoItems) -> PageRequest:
        element = query.xml.find(f"{{{Set.namespace}}}set")
        if element is None:
            return cls()

        def text(name: str) -> str | None:
            child = element.find(f"{{{Set.namespace}}}{name}")
            return None if child is None else (child.text or "")

        limit = text("max")
        if limit is not None and not limit.isdigit():
            raise BadRequest(f"RSM <max> must be a whole number, not '{limit}'")
        return cls(min(int(limit), PAGE_MAX) if limit else PAGE_MAX, text("after"), text("before"))


def page(keys: Sequence[str], request: PageRequest) -> tuple[int, int]:
    """The [start, end) slice of the sorted *keys* that *request* asks for."""
    if request.after:
        start = _index(keys, request.after) + 1
        return start, min(len(keys), start + request.limit)
    if request.before is not None:
        end = _index(keys, request.before) if request.before else len(keys)
        return max(0, end - request.limit), end
    return 0, min(len(keys), request.limit)


def _index(keys: Sequence[str], item: str) -> int:
    if item not in keys:
        raise BadRequest(f"'{item}' is not in this room list (it may have changed): start again")
    return keys.index(item)


class DirectoryService:
    def __init__(
        self,
        *,
        sessions: SessionManager,
        jid_of: Callable[[RoomAddress], str],
        send: Callable[[Iq], None],
    ) -> None:
        self._sessions = sessions
        self._jid_of = jid_of
        self._send = send

    async def on_items(self, iq: Iq, server: ServerAddress) -> None:
        try:
            session = await self._sessions.session_for(iq["from"].bare)
            request = PageRequest.of(iq["disco_items"])
            listings = sorted(await session.list_rooms(server), key=lambda r: self._jid_of(r.room))
            start, end = page([self._jid_of(r.room) for r in listings], request)
        except LegacyError as failure:
            self._send(failure_reply(iq, failure))
            return
        reply: Iq = iq.reply(clear=True)
        query = reply["disco_items"]
        items = listings[start:end]
        for listing in items:
            name = listing.room.name
            if listing.users is not None:
                name += f" ({listing.users})"
            if listing.topic:
                name += f": {listing.topic}"
            query.add_item(self._jid_of(listing.room), name=name)
        if request != PageRequest() or len(listings) > PAGE_MAX:
            rsm = query["rsm"]
            rsm["count"] = str(len(listings))
            if items:
                rsm["first"] = self._jid_of(items[0].room)
                rsm["first_index"] = str(start)
                rsm["last"] = self._jid_of(items[-1].room)
        self._send(reply)
