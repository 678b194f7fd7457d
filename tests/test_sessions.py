"""The gateway serves at most the operator's number of users at once."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.errors import Forbidden
from bridge.network import Capabilities, LoginContext
from bridge.sessions import SessionManager
from tests.memory_store import MemoryStore


class Session:
    async def apply(self, action: Any) -> None:
        pass

    async def close(self, reason: str) -> None:
        pass


class Network:
    capabilities = Capabilities(needs_registration=False)

    async def login(self, context: LoginContext) -> Session:
        return Session()


async def no_settings(user: str) -> None:
    return None


async def nothing(user: str) -> None:
    pass


async def test_a_user_beyond_the_limit_is_refused_until_one_logs_out() -> None:
    sessions = SessionManager(
        Network(),  # type: ignore[arg-type]
        load_settings=no_settings,
        hosts=None,  # type: ignore[arg-type]
        on_event=lambda user, event: None,
        on_login=nothing,
        store_for=lambda user: MemoryStore(),
        max_sessions=2,
    )
    await sessions.session_for("a@x")
    await sessions.session_for("b@x")
    await sessions.session_for("a@x")  # already in: not one more
    with pytest.raises(Forbidden, match="as many users"):
        await sessions.session_for("c@x")
    assert await sessions.logout("a@x", "bye")
    await sessions.session_for("c@x")
    assert sorted(sessions.users()) == ["b@x", "c@x"]
