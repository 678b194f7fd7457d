"""The IRC measuring client against the session ngircd (and a scripted server for PING)."""

import asyncio

import pytest

from benchmarks.irc_client import IrcClient, IrcError, parse_line
from bridge.devservers import Ngircd
from bridge.devservers.ports import LOOPBACK
from tests.waiting import wait_until


def test_parse_line_splits_prefix_command_and_params() -> None:
    line = parse_line(":bob!b@host PRIVMSG #room :hi : there")
    assert (line.nick, line.command, line.params) == ("bob", "PRIVMSG", ["#room", "hi : there"])
    assert parse_line("ping srv").params == ["srv"]


async def test_two_clients_see_each_other_join_talk_and_leave(ngircd: Ngircd) -> None:
    alice = await IrcClient.connect(LOOPBACK, ngircd.port, "benchalice")
    bob = await IrcClient.connect(LOOPBACK, ngircd.port, "benchbob")
    try:
        await alice.join("#benchroom")
        await bob.join("#benchroom")
        assert bob.members["#benchroom"] == {"benchalice", "benchbob"}  # from NAMES
        await alice.wait_for_member("#benchroom", "BenchBob", timeout=10)  # from JOIN

        heard: list[tuple[str, str, str]] = []
        bob.on_privmsg = lambda *said: heard.append(said)
        alice.privmsg("#benchroom", "hello: all")
        alice.privmsg("benchbob", "psst")
        await alice.drain()
        await wait_until(lambda: len(heard) == 2, message="bob hearing alice twice")
        assert heard == [
            ("benchalice", "#benchroom", "hello: all"),
            ("benchalice", "benchbob", "psst"),
        ]

        await bob.close()
        await wait_until(
            lambda: alice.members["#benchroom"] == {"benchalice"},
            message="alice seeing bob quit",
        )
    finally:
        await alice.close()
        await bob.close()


async def test_refusals_name_the_numeric(ngircd: Ngircd) -> None:
    carol = await IrcClient.connect(LOOPBACK, ngircd.port, "benchcarol")
    try:
        with pytest.raises(IrcError, match="join of nohash refused: 403"):
            await carol.join("nohash", timeout=10)
        with pytest.raises(IrcError, match="nick refused: 433"):
            await IrcClient.connect(LOOPBACK, ngircd.port, "benchcarol")
    finally:
        await carol.close()


async def test_ping_is_answered() -> None:
    pong: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()  # NICK
        await reader.readline()  # USER
        writer.write(b":srv 001 dave :Welcome\r\n:srv 002 dave :Your host\r\n")
        writer.write(b"PING :token-1\r\n")
        pong.set_result((await reader.readline()).decode())
        writer.close()

    listener = await asyncio.start_server(server, LOOPBACK, 0)
    port = listener.sockets[0].getsockname()[1]
    dave = await IrcClient.connect(LOOPBACK, port, "dave")
    try:
        async with asyncio.timeout(10):
            assert await pong == "PONG :token-1\r\n"
    finally:
        await dave.close()
        listener.close()
