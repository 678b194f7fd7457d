"""Per-user settings by scope: ``global``, ``server:irc.example``, ``room:#chan%irc.example``.

What the ad-hoc ``configure`` commands store: plain values in clear, secrets (a server
password, a SASL password) sealed with the store's :class:`SecretBox`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.secrets import SecretBox
from bridge.store.engine import Database
from bridge.store.models import SettingRow

_KEYS = ("gateway", "user", "scope")


@dataclass(frozen=True, slots=True)
class Settings:
    gateway: str
    user: str
    scope: str
    values: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)


class SettingsTable:
    """Read and write one user's settings of one scope at a time."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def get(self, gateway: str, user: str, scope: str) -> Settings | None:
        async with self._db.session() as session:
            row = await session.get(SettingRow, (gateway, user, scope))
            if row is None:
                return None
            return Settings(
                gateway, user, scope, row.values, secrets=self._box.decrypt(row.secrets)
            )

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
        async with self._db.session.begin() as session:
            await session.execute(self._db.upsert(SettingRow, row, keys=_KEYS))

    async def delete(self, gateway: str, user: str, scope: str) -> bool:
        """Forget the settings of *scope*; True when there were some."""
        return await self._db.delete(SettingRow, gateway=gateway, user=user, scope=scope)
