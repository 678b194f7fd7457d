"""Rooms and contacts the network says the user has, offered to their XMPP client once.

A Matrix user's joined rooms and direct chats exist before the gateway does; they should
show up in the XMPP client without the user typing JIDs: as XEP-0402 bookmarks with
autojoin and roster items where the server grants privileges, else as XEP-0249
invitations and subscription requests. What was offered is remembered per user, so a
login does not ask again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import ContactListed, RoomListed
from bridge.privileges import Privileges
from bridge.store.settings import SettingsTable

log = logging.getLogger(__name__)

OFFERED_SCOPE = "offered"
MAX_REMEMBERED = 5_000


class Listings:
    def __init__(
        self,
        *,
        gateway: str,
        settings: SettingsTable,
        privileges: Privileges,
        jid_of: Callable[[RoomAddress | ContactAddress], str],
    ) -> None:
        self._gateway = gateway
        self._settings = settings
        self._privileges = privileges
        self._jid_of = jid_of
        # Offers read, extend and write back one remembered list: two at once (a room and a
        # contact listed together) would each write back a list without the other's entry.
        self._one_at_a_time = asyncio.Lock()

    async def offer(self, user: str, event: RoomListed | ContactListed) -> None:
        async with self._one_at_a_time:
            await self._offer(user, event)

    async def _offer(self, user: str, event: RoomListed | ContactListed) -> None:
        address = event.room if isinstance(event, RoomListed) else event.contact
        jid = self._jid_of(address)
        stored = await self._settings.get(self._gateway, user, OFFERED_SCOPE)
        offered: list[str] = list(stored.values.get("jids", [])) if stored else []
        if jid in offered:
            return
        if isinstance(event, RoomListed):
            how = await self._privileges.add_bookmark(
                user, jid, name=event.name or None, autojoin=True
            )
        else:
            how = await self._privileges.add_contact(user, jid, name=event.name or None)
        log.info("offered %s to %s (%s)", jid, user, how.value)
        offered = [*offered, jid][-MAX_REMEMBERED:]
        await self._settings.put(
            self._gateway, user, OFFERED_SCOPE, values={"jids": offered}, secrets={}
        )
