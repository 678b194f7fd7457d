"""The session's one Synapse and users registered on it, for every test folder that needs
Matrix (the Matrix gateway's tests and the benchmark clients' tests share one server)."""

import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol

import pytest

from bridge.devservers import MatrixAccount, Synapse

MATRIX_SERVER_NAME = "matrix.localhost"


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Synapse]:
    """One Synapse for the run: SQLite, loopback client API, rate limits off."""
    async with Synapse(tmp_path_factory.mktemp("synapse"), MATRIX_SERVER_NAME) as server:
        yield server


class MatrixUserFactory(Protocol):
    def __call__(self, name: str = "user", *, admin: bool = False) -> Awaitable[MatrixAccount]: ...


_user_numbers = itertools.count(1)


@pytest.fixture
def matrix_user(synapse: Synapse) -> MatrixUserFactory:
    """Registers fresh users on the session Synapse: `await matrix_user("alice")` is @alice7:…"""

    async def register(name: str = "user", *, admin: bool = False) -> MatrixAccount:
        username = f"{name}{next(_user_numbers)}"
        return await synapse.register_user(username, secrets.token_urlsafe(16), admin=admin)

    return register
