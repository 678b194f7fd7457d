"""Many users dialling one server never have more than the operator's limit connecting at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bridge.network import LoginContext
from plugins.irc.admission import ConnectLimiter
from plugins.irc.network import IrcNetwork
from plugins.irc.session import IrcSession
from tests.irc.loopback import Loopback, port_of
from tests.memory_store import MemoryStore

SERVER = "busy.example"
LIMIT = 3
USERS = 12


class CountingServer:
    """Registers each client after a pause, counting the connections not yet registered."""

    def __init__(self) -> None:
        self.unregistered = 0
        self.most_unregistered = 0
        self.registered = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return port_of(self._server)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.unregistered += 1
        self.most_unregistered = max(self.most_unregistered, self.unregistered)
        nick = ""
        while not nick and (line := await reader.readline()):
            if line.startswith(b"NICK "):
                nick = line.split()[1].decode()
        await asyncio.sleep(0.05)  # a server taking its time: the others pile up, or wait
        self.unregistered -= 1
        self.registered += 1
        writer.write(f":{SERVER} 001 {nick} :Hi\r\n:{SERVER} 376 {nick} :End\r\n".encode())
        while (line := await reader.readline()) and not line.startswith(b"QUIT"):
            pass
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    counting = CountingServer()
    await counting.start()
    yield counting
    counting.stop()


async def test_logins_together_dial_the_server_a_few_at_a_time(server: CountingServer) -> None:
    irc = IrcNetwork(
        {
            "connecting_per_server": LIMIT,
            "networks": {SERVER: {"address": "127.0.0.1", "ports": [server.port]}},
        }
    )
    sessions: list[IrcSession] = []
    for n in range(USERS):
        context = LoginContext(f"u{n}@example.org", None, lambda _: None, Loopback(), MemoryStore())
        sessions.append(await irc.login(context))
    try:
        async with asyncio.timeout(10):
            links = await asyncio.gather(*(s.link(SERVER) for s in sessions))
        assert all(link.state is not None for link in links)
        assert server.registered == USERS
        assert server.most_unregistered == LIMIT
    finally:
        await asyncio.gather(*(s.close("done") for s in sessions))


async def test_a_slot_is_per_address_and_freed_by_a_failure() -> None:
    limiter = ConnectLimiter(1)
    with pytest.raises(OSError):
        async with limiter.slot("a.example"):
            raise OSError("refused")
    async with asyncio.timeout(1), limiter.slot("A.example"), limiter.slot("b.example"):
        pass
