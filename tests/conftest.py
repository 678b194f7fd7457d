"""Session-wide real servers (one Prosody, one ngircd) and XMPP users for the tests."""

import itertools
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Protocol

import pytest

from bridge.devservers import ComponentSpec, IrcOperator, Ngircd, Prosody
from tests.xmpp_client import XmppClient

COMPONENT_COUNT = 8
XMPP_DOMAIN = "localhost"


class ComponentPool:
    """The component domains Prosody was started with, lent to one test at a time.

    A returned domain goes to the back of the queue, so the next test to get it comes as
    late as possible after the previous gateway let go of it.
    """

    def __init__(self, specs: tuple[ComponentSpec, ...]) -> None:
        self._free = deque(specs)

    def take(self) -> ComponentSpec:
        if not self._free:
            raise RuntimeError(
                f"all {COMPONENT_COUNT} component domains are in use: raise COMPONENT_COUNT "
                "in tests/conftest.py"
            )
        return self._free.popleft()

    def give_back(self, spec: ComponentSpec) -> None:
        self._free.append(spec)


@pytest.fixture(scope="session")
async def prosody(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Prosody]:
    """One Prosody for the run, with gw1…gwN.localhost declared as components."""
    components = [
        ComponentSpec(f"gw{number}.{XMPP_DOMAIN}", secrets.token_urlsafe(16))
        for number in range(1, COMPONENT_COUNT + 1)
    ]
    async with Prosody(tmp_path_factory.mktemp("prosody"), XMPP_DOMAIN, components) as server:
        yield server


@pytest.fixture(scope="session")
def component_pool(prosody: Prosody) -> ComponentPool:
    return ComponentPool(prosody.components)


@pytest.fixture
def take_component(component_pool: ComponentPool) -> Iterator[Callable[[], ComponentSpec]]:
    """Hands out unused component specs; they return to the pool when the test ends."""
    taken: list[ComponentSpec] = []

    def take() -> ComponentSpec:
        spec = component_pool.take()
        taken.append(spec)
        return spec

    yield take
    for spec in taken:
        component_pool.give_back(spec)


@pytest.fixture
def component(take_component: Callable[[], ComponentSpec]) -> ComponentSpec:
    """A component domain and secret of the session Prosody that no other test is using."""
    return take_component()


@pytest.fixture(scope="session")
def irc_operator() -> IrcOperator:
    return IrcOperator("testoper", secrets.token_urlsafe(12))


@pytest.fixture(scope="session")
async def ngircd(
    tmp_path_factory: pytest.TempPathFactory, irc_operator: IrcOperator
) -> AsyncIterator[Ngircd]:
    """One ngircd for the run, flood control off, with an operator block for tests."""
    async with Ngircd(tmp_path_factory.mktemp("ngircd"), operator=irc_operator) as server:
        yield server


class XmppUserFactory(Protocol):
    def __call__(
        self,
        name: str = "user",
        *,
        account: str | None = None,
        resource: str = "test",
        available: bool = True,
    ) -> Awaitable[XmppClient]: ...


_account_numbers = itertools.count(1)


@pytest.fixture
async def xmpp_user(prosody: Prosody) -> AsyncIterator[XmppUserFactory]:
    """Connects XMPP users to the session Prosody; all are disconnected when the test ends.

    `await xmpp_user("alice")` logs in a fresh account such as alice7@localhost (any name
    and password are accepted). `account=` reuses an exact local part, e.g. a second
    resource of an existing user; `available=False` skips the initial presence.
    """
    clients: list[XmppClient] = []

    async def connect(
        name: str = "user",
        *,
        account: str | None = None,
        resource: str = "test",
        available: bool = True,
    ) -> XmppClient:
        local_part = account or f"{name}{next(_account_numbers)}"
        client = XmppClient(f"{local_part}@{prosody.domain}/{resource}", "any password")
        clients.append(client)
        await client.start(prosody.c2s_port, available=available)
        return client

    yield connect
    for client in clients:
        await client.stop()


from tests.bridge_fixture import start_bridge  # noqa: E402
from tests.synapse_fixtures import matrix_user, synapse  # noqa: E402

__all__ = ["matrix_user", "start_bridge", "synapse"]
