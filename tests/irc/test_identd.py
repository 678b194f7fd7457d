"""The ident server: IRC networks learn an opaque per-user id for our connections, nothing more."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from plugins.irc.identd import IdentRegistry, IdentServer, answer, opaque_user_id

KEY = b"k" * 32


async def ask(port: int, query: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(query)
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return reply


@pytest.fixture
async def identd() -> AsyncIterator[tuple[IdentServer, IdentRegistry]]:
    registry = IdentRegistry()
    server = IdentServer(registry, port=0, host="127.0.0.1", read_timeout=0.5)
    await server.start()
    yield server, registry
    await server.close()


def test_the_id_is_stable_short_and_does_not_show_the_jid() -> None:
    user_id = opaque_user_id(KEY, "alice@example.org")
    assert user_id == opaque_user_id(KEY, "alice@example.org")
    assert user_id != opaque_user_id(KEY, "bob@example.org")
    assert user_id != opaque_user_id(b"other key", "alice@example.org")
    assert len(user_id) <= 10
    assert "alice" not in user_id


async def test_a_registered_connection_gets_its_user_id(
    identd: tuple[IdentServer, IdentRegistry],
) -> None:
    server, registry = identd
    assert server.bound_port is not None
    registry.add(40001, 6667, "127.0.0.1", "abcdefghij")
    reply = await ask(server.bound_port, b"40001 , 6667\r\n")
    assert reply == b"40001 , 6667 : USERID : UNIX : abcdefghij\r\n"


async def test_unknown_connections_get_no_user(
    identd: tuple[IdentServer, IdentRegistry],
) -> None:
    server, registry = identd
    assert server.bound_port is not None
    registry.add(40001, 6667, "127.0.0.1", "abcdefghij")
    assert await ask(server.bound_port, b"40002,6667\n") == b"40002 , 6667 : ERROR : NO-USER\r\n"
    registry.remove(40001, 6667)
    assert await ask(server.bound_port, b"40001,6667\n") == b"40001 , 6667 : ERROR : NO-USER\r\n"


def test_only_the_host_we_are_connected_to_learns_the_id() -> None:
    registry = IdentRegistry()
    registry.add(40001, 6697, "192.0.2.7", "abcdefghij")
    assert answer("40001, 6697", registry, "198.51.100.1") == "40001 , 6697 : ERROR : NO-USER"
    assert answer("40001, 6697", registry, "::ffff:192.0.2.7") == (
        "40001 , 6697 : USERID : UNIX : abcdefghij"
    )


def test_ports_out_of_range_are_invalid_and_garbage_is_not_answered() -> None:
    registry = IdentRegistry()
    assert answer("0 , 70000", registry, "127.0.0.1") == "0 , 70000 : ERROR : INVALID-PORT"
    assert answer("hello", registry, "127.0.0.1") is None
    assert answer("1,2,3", registry, "127.0.0.1") is None


async def test_oversized_and_silent_clients_are_dropped_without_harm(
    identd: tuple[IdentServer, IdentRegistry],
) -> None:
    server, registry = identd
    assert server.bound_port is not None
    assert await ask(server.bound_port, b"1" * 5000) == b""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # read timeout closed it
    writer.close()
    registry.add(40001, 6667, "127.0.0.1", "abcdefghij")
    assert (await ask(server.bound_port, b"40001,6667\n")).endswith(b"abcdefghij\r\n")


async def test_without_a_port_nothing_listens() -> None:
    server = IdentServer(IdentRegistry(), port=None)
    await server.start()
    assert server.bound_port is None
    await server.close()
