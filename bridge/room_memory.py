"""The rooms each user is in, kept in the store so a restarted gateway can rejoin them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bridge.addressing import AddressError, AddressGrammar, RoomAddress
from bridge.muc.service import MucService
from bridge.store.rooms import JoinedRooms

Joined = set[tuple[RoomAddress, str]]


class RoomMemory:
    def __init__(
        self,
        *,
        gateway: str,
        grammar: AddressGrammar,
        rows: JoinedRooms,
        muc: MucService,
        online_resources: Callable[[str], list[str]],
    ) -> None:
        self._gateway = gateway
        self._grammar = grammar
        self._rows = rows
        self._muc = muc
        self._online_resources = online_resources
        self._known: dict[str, Joined] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def sync(self, user: str) -> None:
        """Write the user's rooms when they changed; writes run beside the message path."""
        current = set(self._muc.joined_rooms(user))
        known = self._known.get(user, set())
        if current != known:
            self._known[user] = current
            self._spawn(self._write(user, current - known, known - current))

    def forget(self, user: str) -> None:
        self._known.pop(user, None)

    async def resume(self, user: str) -> None:
        """After a restart: rejoin, for the user's online resources, the rooms they were in."""
        joined = {room for room, _nick in self._muc.joined_rooms(user)}
        resources = self._online_resources(user)
        for row in await self._rows.list_for_user(self._gateway, user):
            try:
                address = self._grammar.parse(row.room)
            except AddressError:
                continue
            if isinstance(address, RoomAddress) and address not in joined:
                self._known.setdefault(user, set()).add((address, row.nick))
                self._spawn(self._muc.rejoin(user, address, row.nick, resources))

    async def close(self) -> None:
        """Let pending writes finish: one cancelled mid-transaction would hold SQLite's lock."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _write(self, user: str, added: Joined, removed: Joined) -> None:
        for room, _nick in removed:
            await self._rows.remove(self._gateway, user, self._grammar.format(room))
        for room, nick in added:
            await self._rows.add(self._gateway, user, self._grammar.format(room), nick=nick)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
