"""The rooms each user is in, so a restart rejoins them with the same nick and key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from bridge.secrets import SecretBox
from bridge.store.engine import Database
from bridge.store.models import JoinedRoomRow

_PASSWORD = "password"


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
        sealed = None if password is None else self._box.encrypt({_PASSWORD: password})
        values = {
            "gateway": gateway,
            "user": user,
            "room": room,
            "nick": nick,
            "password": sealed,
            "persistent": persistent,
            "resources": sorted(resources),
        }
        async with self._db.session.begin() as session:
            await session.execute(
                self._db.upsert(JoinedRoomRow, values, keys=("gateway", "user", "room"))
            )

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
