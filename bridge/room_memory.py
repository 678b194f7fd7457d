"""The rooms each user is in, kept in the store so a restarted gateway can rejoin them.

Persistent rooms (the user's choice) stay joined on the network while the user is away
and are rejoined at start, so their history keeps being archived.

The gateway's rows are read once and then kept in memory as the gateway changes them;
changes reach the database through a :class:`RoomWriter`, in batches, beside the joins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bridge.addressing import AddressError, Grammar, RoomAddress
from bridge.muc.service import MucService
from bridge.room_writer import RoomWriter
from bridge.store.rooms import JoinedRoom, JoinedRooms
from bridge.tasks import Background

Joined = set[tuple[RoomAddress, str, frozenset[str]]]
"""(room, nick, resources in it) for each room a user is in."""

Table = dict[str, dict[str, JoinedRoom]]
"""The gateway's rows: user → room JID local part → row."""


class RoomMemory:
    def __init__(
        self,
        *,
        gateway: str,
        grammar: Grammar,
        rows: JoinedRooms,
        muc: MucService,
        online_resources: Callable[[str], list[str]],
        write_delay: float = 0.1,
    ) -> None:
        self._gateway = gateway
        self._grammar = grammar
        self._rows = rows
        self._writer = RoomWriter(rows, gateway, delay=write_delay)
        self._muc = muc
        self._online_resources = online_resources
        self._table: Table | None = None
        self._loading = asyncio.Lock()
        self._known: dict[str, Joined] = {}
        self._persistent: dict[str, set[RoomAddress]] = {}
        self._background = Background()

    def is_persistent(self, user: str, room: RoomAddress) -> bool:
        return room in self._persistent.get(user, set())

    def has_persistent(self, user: str) -> bool:
        return bool(self._persistent.get(user))

    async def users_to_resume(self) -> set[str]:
        """Users the gateway logs in at start: persistent rooms, or resources to let back in."""
        table = await self._stored()
        return {
            user
            for user, rooms in table.items()
            if any(row.persistent or row.resources for row in rooms.values())
        }

    async def set_persistent(self, user: str, room: RoomAddress, persistent: bool) -> None:
        rooms = self._persistent.setdefault(user, set())
        if persistent:
            rooms.add(room)
        else:
            rooms.discard(room)
        nick = next((n for r, n in self._muc.joined_rooms(user) if r == room), None)
        if nick is None:
            stored = (await self._stored()).get(user, {}).get(self._local(room))
            nick = "" if stored is None else stored.nick
        if persistent or nick:
            resources = self._muc.resources_in(user, room)
            self._record(user, room, nick or user.split("@")[0], persistent, resources)

    def sync(self, user: str) -> None:
        """Record the user's rooms when they changed; the writer writes them beside the joins."""
        current = {
            (room, nick, frozenset(self._muc.resources_in(user, room)))
            for room, nick in self._muc.joined_rooms(user)
        }
        known = self._known.get(user, set())
        if current == known:
            return
        self._known[user] = current
        still_in = {room for room, _nick, _resources in current}
        for room, _nick, _resources in known - current:
            if room not in still_in and not self.is_persistent(user, room):
                self._drop(user, self._local(room))
        for room, nick, resources in current - known:
            self._record(user, room, nick, self.is_persistent(user, room), resources)

    def forget(self, user: str) -> None:
        """The user's rows were removed with them: forget what memory and the writer hold."""
        self._known.pop(user, None)
        self._persistent.pop(user, None)
        if self._table is not None:
            self._table.pop(user, None)
        self._writer.drop_user(user)

    async def resume(self, user: str) -> None:
        """After a restart: rejoin what the user was in (for their online resources) and
        every persistent room (with or without resources)."""
        joined = {room for room, _nick in self._muc.joined_rooms(user)}
        online = self._online_resources(user)
        stored = (await self._stored()).get(user, {})
        for local in sorted(stored):
            row = stored[local]
            try:
                address = self._grammar.parse(row.room)
            except AddressError:
                continue
            if not isinstance(address, RoomAddress):
                continue
            if row.persistent:
                self._persistent.setdefault(user, set()).add(address)
            # Resources that were in the room and are gone get an error from their server,
            # which the MUC emulation takes as their leaving.
            resources = sorted({*online, *row.resources})
            if address not in joined and (resources or row.persistent):
                self._known.setdefault(user, set()).add((address, row.nick, frozenset(resources)))
                self._background.spawn(self._muc.rejoin(user, address, row.nick, resources))

    async def close(self) -> None:
        """Let rejoins end and write what is pending."""
        await self._background.finish()
        await self._writer.close()

    async def _stored(self) -> Table:
        """The gateway's rows: read once (with the changes not yet written), then kept."""
        if self._table is None:
            async with self._loading, self._writer.holding():
                if self._table is None:
                    table: Table = {}
                    for row in await self._rows.list_for_gateway(self._gateway):
                        table.setdefault(row.user, {})[row.room] = row
                    self._table = table
                    for (user, local), change in self._writer.pending.items():
                        self._apply(user, local, change)
        return self._table

    def _record(
        self,
        user: str,
        room: RoomAddress,
        nick: str,
        persistent: bool,
        resources: frozenset[str] | list[str],
    ) -> None:
        row = JoinedRoom(
            self._gateway, user, self._local(room), nick, None, persistent, tuple(sorted(resources))
        )
        self._apply(user, row.room, row)
        self._writer.put(row)

    def _drop(self, user: str, local: str) -> None:
        self._apply(user, local, None)
        self._writer.remove(user, local)

    def _apply(self, user: str, local: str, change: JoinedRoom | None) -> None:
        if self._table is None:
            return  # read later, with the writer's pending changes
        if change is not None:
            self._table.setdefault(user, {})[local] = change
            return
        rooms = self._table.get(user, {})
        rooms.pop(local, None)
        if not rooms:
            self._table.pop(user, None)

    def _local(self, room: RoomAddress) -> str:
        return self._grammar.format(room)
