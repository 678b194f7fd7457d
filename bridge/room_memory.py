"""The rooms each user is in, kept in the store so a restarted gateway can rejoin them.

Persistent rooms (the user's choice) stay joined on the network while the user is away
and are rejoined at start, so their history keeps being archived.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.addressing import AddressError, Grammar, RoomAddress
from bridge.muc.service import MucService
from bridge.store.rooms import JoinedRoom, JoinedRooms
from bridge.tasks import Background

Joined = set[tuple[RoomAddress, str, frozenset[str]]]
"""(room, nick, resources in it) for each room a user is in."""


class RoomMemory:
    def __init__(
        self,
        *,
        gateway: str,
        grammar: Grammar,
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
        self._persistent: dict[str, set[RoomAddress]] = {}
        self._background = Background()

    def is_persistent(self, user: str, room: RoomAddress) -> bool:
        return room in self._persistent.get(user, set())

    def has_persistent(self, user: str) -> bool:
        return bool(self._persistent.get(user))

    async def users_to_resume(self) -> set[str]:
        """Users the gateway logs in at start: persistent rooms, or resources to let back in."""
        rows = await self._rows.list_for_gateway(self._gateway)
        return {row.user for row in rows if row.persistent or row.resources}

    async def set_persistent(self, user: str, room: RoomAddress, persistent: bool) -> None:
        rooms = self._persistent.setdefault(user, set())
        if persistent:
            rooms.add(room)
        else:
            rooms.discard(room)
        nick = next((n for r, n in self._muc.joined_rooms(user) if r == room), None)
        if nick is None:
            nick = next((r.nick for r in await self._list(user) if r.room == self._local(room)), "")
        if persistent or nick:
            await self._rows.add(
                self._gateway,
                user,
                self._local(room),
                nick=nick or user.split("@")[0],
                persistent=persistent,
                resources=self._muc.resources_in(user, room),
            )

    def sync(self, user: str) -> None:
        """Write the user's rooms when they changed; writes run beside the message path."""
        current = {
            (room, nick, frozenset(self._muc.resources_in(user, room)))
            for room, nick in self._muc.joined_rooms(user)
        }
        known = self._known.get(user, set())
        if current != known:
            self._known[user] = current
            self._background.spawn(self._write(user, current - known, known - current))

    def forget(self, user: str) -> None:
        self._known.pop(user, None)
        self._persistent.pop(user, None)

    async def resume(self, user: str) -> None:
        """After a restart: rejoin what the user was in (for their online resources) and
        every persistent room (with or without resources)."""
        joined = {room for room, _nick in self._muc.joined_rooms(user)}
        online = self._online_resources(user)
        for row in await self._list(user):
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
        """Let pending writes finish: one cancelled mid-transaction would hold SQLite's lock."""
        await self._background.finish()

    async def _list(self, user: str) -> list[JoinedRoom]:
        return await self._rows.list_for_user(self._gateway, user)

    def _local(self, room: RoomAddress) -> str:
        return self._grammar.format(room)

    async def _write(self, user: str, added: Joined, removed: Joined) -> None:
        still_in = {room for room, _nick, _resources in added}
        for room, _nick, _resources in removed:
            if room not in still_in and not self.is_persistent(user, room):
                await self._rows.remove(self._gateway, user, self._local(room))
        for room, nick, resources in added:
            await self._rows.add(
                self._gateway,
                user,
                self._local(room),
                nick=nick,
                persistent=self.is_persistent(user, room),
                resources=sorted(resources),
            )
