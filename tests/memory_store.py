"""An in-memory bridge.network.UserStore for tests that drive a service without a database."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class MemoryStore:
    def __init__(self) -> None:
        self.scopes: dict[str, BaseModel] = {}

    async def load(self, scope: str, model: type[M]) -> M | None:
        value = self.scopes.get(scope)
        return None if value is None else model.model_validate(value.model_dump())

    async def save(self, scope: str, value: BaseModel) -> None:
        self.scopes[scope] = value

    async def delete(self, scope: str) -> None:
        self.scopes.pop(scope, None)
