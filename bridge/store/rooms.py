"""The rooms each user is in, so a restart rejoins them with the same nick and key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, select

from bridge.secrets import SecretBox
from bridge.store.engine import Database
from bridge.store.models import JoinedRoomRow

_PASSWORD = "password"
_KEYS = ("gateway", "user", "room")


@dataclass(frozen=True, slots=True)
class JoinedRoom:
    gateway: str
    user: str
    room: str
    """JID local part of the room, e.g. ``#chan%irc.libera.chat``."""
    nick: str
    password: str | None = field(repr=False)
    """Room key in clear (decrypted by the store); never in repr."""
    persistent: bool
    resources: tuple[str, ...] = ()
    """The user's XMPP resources that were in the room (full JIDs)."""


class JoinedRooms:
    """Add, remove and list joined rooms; room keys are sealed with the store's box."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def add(
        self,
        gateway: str,
        user: str,
        room: str,
        *,
        nick: str,
        password: str | None = None,
        persistent: bool = False,
        resources: Sequence[str] = (),
    ) -> None:
        """Record the room as joined (again: a new nick or key replaces the old)."""
        joined = JoinedRoom(gateway, user, room, nick, password, persistent, tuple(resources))
        await self.write(gateway, [joined], [])

    async def write(
        self, gateway: str, rooms: Sequence[JoinedRoom], gone: Sequence[tuple[str, str]]
    ) -> None:
        """Record *rooms* and forget the *gone* (user, room) pairs, in one transaction."""
        async with self._db.engine.begin() as connection:
            if gone:
                forget = delete(JoinedRoomRow).where(
                    JoinedRoomRow.gateway == gateway,
                    JoinedRoomRow.user == bindparam("gone_user"),
                    JoinedRoomRow.room == bindparam("gone_room"),
                )
                pairs = [{"gone_user": user, "gone_room": room} for user, room in gone]
                await connection.execute(forget, pairs)
            if rooms:
                statement = self._db.upsert_many(JoinedRoomRow, _KEYS)
                await connection.execute(statement, [self._to_row(room) for room in rooms])

    async def remove(self, gateway: str, user: str, room: str) -> bool:
        """Forget the room; True when it was recorded."""
        return await self._db.delete(JoinedRoomRow, gateway=gateway, user=user, room=room)

    async def list_for_user(self, gateway: str, user: str) -> list[JoinedRoom]:
        """The user's rooms on *gateway*, ordered by room."""
        return await self._list(gateway, user)

    async def list_for_gateway(self, gateway: str) -> list[JoinedRoom]:
        """Every user's rooms on *gateway*, ordered by user then room: what to rejoin at start."""
        return await self._list(gateway, None)

    async def _list(self, gateway: str, user: str | None) -> list[JoinedRoom]:
        query = select(JoinedRoomRow).where(JoinedRoomRow.gateway == gateway)
        if user is not None:
            query = query.where(JoinedRoomRow.user == user)
        async with self._db.session() as session:
            rows = await session.scalars(query.order_by(JoinedRoomRow.user, JoinedRoomRow.room))
            return [self._to_value(row) for row in rows]

    def _to_row(self, room: JoinedRoom) -> dict[str, object]:
        password = room.password
        return {
            "gateway": room.gateway,
            "user": room.user,
            "room": room.room,
            "nick": room.nick,
            "password": None if password is None else self._box.encrypt({_PASSWORD: password}),
            "persistent": room.persistent,
            "resources": sorted(room.resources),
        }

    def _to_value(self, row: JoinedRoomRow) -> JoinedRoom:
        password = None if row.password is None else self._box.decrypt(row.password)[_PASSWORD]
        return JoinedRoom(
            gateway=row.gateway,
            user=row.user,
            room=row.room,
            nick=row.nick,
            password=password,
            persistent=row.persistent,
            resources=tuple(row.resources or ()),
        )
