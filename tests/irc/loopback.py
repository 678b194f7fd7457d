"""A resolver for LoginContext that sends every IRC host to 127.0.0.1 (tests stay on loopback)."""

from __future__ import annotations


class Loopback:
    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]
