"""Message ids across the bridge: XMPP id ⇄ legacy id per conversation, and sync tokens.

Corrections, retractions, reactions and replies name the message they refer to by the
id their side knows; this map turns it into the other side's id.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from bridge.store.engine import Database
from bridge.store.models import IdMapRow, SyncTokenRow


class IdMap:
    """One legacy id per XMPP id; a legacy id seen twice maps to its latest XMPP id."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(
        self, gateway: str, user: str, conversation: str, *, xmpp_id: str, legacy_id: str
    ) -> None:
        values = {
            "gateway": gateway,
            "user": user,
            "conversation": conversation,
            "xmpp_id": xmpp_id,
            "legacy_id": legacy_id,
        }
        keys = ("gateway", "user", "conversation", "xmpp_id")
        async with self._db.session.begin() as session:
            await session.execute(self._db.upsert(IdMapRow, values, keys=keys))

    async def legacy_for_xmpp(
        self, gateway: str, user: str, conversation: str, xmpp_id: str
    ) -> str | None:
        query = select(IdMapRow.legacy_id).where(
            *self._in(gateway, user, conversation), IdMapRow.xmpp_id == xmpp_id
        )
        async with self._db.session() as session:
            return await session.scalar(query)

    async def xmpp_for_legacy(
        self, gateway: str, user: str, conversation: str, legacy_id: str
    ) -> str | None:
        query = (
            select(IdMapRow.xmpp_id)
            .where(*self._in(gateway, user, conversation), IdMapRow.legacy_id == legacy_id)
            .order_by(IdMapRow.id.desc())
            .limit(1)
        )
        async with self._db.session() as session:
            return await session.scalar(query)

    @staticmethod
    def _in(gateway: str, user: str, conversation: str) -> tuple[ColumnElement[bool], ...]:
        return (
            IdMapRow.gateway == gateway,
            IdMapRow.user == user,
            IdMapRow.conversation == conversation,
        )


class SyncTokens:
    """Where a legacy sync stream stopped (Matrix ``next_batch``), to resume after a restart."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, gateway: str, user: str) -> str | None:
        async with self._db.session() as session:
            row = await session.get(SyncTokenRow, (gateway, user))
            return None if row is None else row.token

    async def put(self, gateway: str, user: str, token: str) -> None:
        values = {"gateway": gateway, "user": user, "token": token}
        async with self._db.session.begin() as session:
            await session.execute(self._db.upsert(SyncTokenRow, values, keys=("gateway", "user")))
