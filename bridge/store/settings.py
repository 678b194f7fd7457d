"""Per-user settings by scope: ``global``, ``server:irc.example``, ``room:#chan%irc.example``.

What the ad-hoc ``configure`` commands store: plain values in clear, secrets (a server
password, a SASL password) sealed with the store's :class:`SecretBox`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from bridge.secrets import SecretBox
from bridge.store.engine import Database
from bridge.store.models import SettingRow
from bridge.store.user_cache import UserCache

_KEYS = ("gateway", "user", "scope")


@dataclass(frozen=True, slots=True)
class Settings:
    gateway: str
    user: str
    scope: str
    values: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)


class SettingsTable:
    """Read and write one user's settings of one scope at a time.

    Reads come from a per-user cache: a user's scopes are read together, in one query, and
    kept until the gateway writes that user's settings (logins and joins read them often);
    users without settings are known from one list per gateway.
    """

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._cache: UserCache[Mapping[str, Settings]] = UserCache(
            absent=MappingProxyType({}), holders=self._holders
        )

    async def get(self, gateway: str, user: str, scope: str) -> Settings | None:
        scopes = await self._cache.get(gateway, user, lambda: self._read(gateway, user))
        return scopes.get(scope)

    async def _holders(self, gateway: str) -> list[str]:
        query = select(SettingRow.user).where(SettingRow.gateway == gateway).distinct()
        async with self._db.engine.connect() as connection:
            return list((await connection.scalars(query)).all())

    async def _read(self, gateway: str, user: str) -> Mapping[str, Settings]:
        query = select(SettingRow.scope, SettingRow.values, SettingRow.secrets).where(
            SettingRow.gateway == gateway, SettingRow.user == user
        )
        async with self._db.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {
            scope: Settings(gateway, user, scope, values, secrets=self._box.decrypt(secrets))
            for scope, values, secrets in rows
        }

    def forget(self, gateway: str, user: str) -> None:
        """The user's rows were changed behind the table's back (removed with the user)."""
        self._cache.invalidate(gateway, user)

    async def put(
        self,
        gateway: str,
        user: str,
        scope: str,
        *,
        values: Mapping[str, Any],
        secrets: Mapping[str, str],
    ) -> None:
        """Replace the settings of *scope* (values and secrets both, as one form submits them)."""
        row = {
            "gateway": gateway,
            "user": user,
            "scope": scope,
            "values": dict(values),
            "secrets": self._box.encrypt(secrets),
        }
        try:
            async with self._db.session.begin() as session:
                await session.execute(self._db.upsert(SettingRow, row, keys=_KEYS))
        finally:
            self._cache.invalidate(gateway, user)

    async def delete(self, gateway: str, user: str, scope: str) -> bool:
        """Forget the settings of *scope*; True when there were some."""
        try:
            return await self._db.delete(SettingRow, gateway=gateway, user=user, scope=scope)
        finally:
            self._cache.invalidate(gateway, user)
