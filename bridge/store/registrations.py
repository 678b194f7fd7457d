"""XEP-0077 registrations: one per (gateway, user), non-secret fields in clear, secrets sealed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bridge.secrets import SecretBox
from bridge.store.engine import Database
from bridge.store.models import RegistrationRow
from bridge.store.user_cache import UserCache


@dataclass(frozen=True, slots=True)
class Registration:
    gateway: str
    user: str
    """Bare JID of the XMPP user."""
    fields: Mapping[str, Any]
    """Non-secret form values, JSON-compatible."""
    secrets: Mapping[str, str] = field(repr=False)
    """Secret form values in clear (decrypted by the store); never in repr, so never in logs."""
    stay_connected: bool
    created: datetime
    updated: datetime


class Registrations:
    """Read and write registrations; secrets are sealed with the store's :class:`SecretBox`.

    Reads of one user come from a cache (each login reads the registration) dropped on writes;
    unregistered users are known from one list per gateway.
    """

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._cache: UserCache[Registration | None] = UserCache(absent=None, holders=self._users)

    async def get(self, gateway: str, user: str) -> Registration | None:
        return await self._cache.get(gateway, user, lambda: self._read(gateway, user))

    async def _users(self, gateway: str) -> list[str]:
        query = select(RegistrationRow.user).where(RegistrationRow.gateway == gateway)
        async with self._db.engine.connect() as connection:
            return list((await connection.scalars(query)).all())

    async def _read(self, gateway: str, user: str) -> Registration | None:
        async with self._db.session() as session:
            row = await session.get(RegistrationRow, (gateway, user))
            return None if row is None else self._to_value(row)

    def forget(self, gateway: str, user: str) -> None:
        """The user's row was changed behind the table's back (removed with the user)."""
        self._cache.invalidate(gateway, user)

    async def put(
        self,
        gateway: str,
        user: str,
        *,
        fields: Mapping[str, Any],
        secrets: Mapping[str, str],
        stay_connected: bool = False,
    ) -> Registration:
        """Create or replace the registration; ``created`` is kept when it already existed."""
        now = datetime.now(UTC)
        values = {
            "gateway": gateway,
            "user": user,
            "fields": dict(fields),
            "secrets": self._box.encrypt(secrets),
            "stay_connected": stay_connected,
            "created": now,
            "updated": now,
        }
        statement = self._db.upsert(
            RegistrationRow, values, keys=("gateway", "user"), keep=("created",)
        ).returning(RegistrationRow)
        try:
            async with self._db.session.begin() as session:
                row = (await session.scalars(statement)).one()
                return self._to_value(row)
        finally:
            self._cache.invalidate(gateway, user)

    async def delete(self, gateway: str, user: str) -> bool:
        """Remove the registration; True when there was one."""
        try:
            return await self._db.delete(RegistrationRow, gateway=gateway, user=user)
        finally:
            self._cache.invalidate(gateway, user)

    async def list_for_gateway(self, gateway: str) -> list[Registration]:
        """Every registration of *gateway*, ordered by user: the sessions to resume at start."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(RegistrationRow)
                .where(RegistrationRow.gateway == gateway)
                .order_by(RegistrationRow.user)
            )
            return [self._to_value(row) for row in rows]

    def _to_value(self, row: RegistrationRow) -> Registration:
        return Registration(
            gateway=row.gateway,
            user=row.user,
            fields=row.fields,
            secrets=self._box.decrypt(row.secrets),
            stay_connected=row.stay_connected,
            created=row.created,
            updated=row.updated,
        )
