"""Per-user plugin settings on the store's settings table, secrets sealed and redacted."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr

from bridge.logsetup import register_secret
from bridge.store.settings import SettingsTable

M = TypeVar("M", bound=BaseModel)


def split_secrets(
    model: BaseModel, *, skip: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], dict[str, str]]:
    """(plain values, secret values) of *model*; every secret is registered with the redactor."""
    fields: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for name in type(model).model_fields:
        if name in skip:
            continue
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            if value.get_secret_value():
                register_secret(value.get_secret_value())
                secrets[name] = value.get_secret_value()
        else:
            fields[name] = model.model_dump(mode="json", include={name})[name]
    return fields, secrets


class ScopedStore:
    """A plugin's view of one user's settings (the bridge.network.UserStore protocol)."""

    def __init__(self, table: SettingsTable, gateway: str, user: str) -> None:
        self._table = table
        self._gateway = gateway
        self._user = user

    async def load(self, scope: str, model: type[M]) -> M | None:
        row = await self._table.get(self._gateway, self._user, scope)
        if row is None:
            return None
        for secret in row.secrets.values():
            register_secret(secret)
        return model.model_validate({**row.values, **row.secrets})

    async def save(self, scope: str, value: BaseModel) -> None:
        fields, secrets = split_secrets(value)
        await self._table.put(self._gateway, self._user, scope, values=fields, secrets=secrets)

    async def delete(self, scope: str) -> None:
        await self._table.delete(self._gateway, self._user, scope)
