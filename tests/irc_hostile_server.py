"""A misbehaving IRC server for tests: each connection runs a script the test writes.

A real server cannot be made to cut a UTF-8 character across two reads, send a NUL, or
close in the middle of a line; this one does exactly what the script says, byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from bridge.devservers.ports import LOOPBACK
from tests.irc.loopback import port_of
from tests.waiting import wait_until

TIMEOUT = 10.0
NAME = "hostile.example"


class HostileConnection:
    """One client of the server, as the script sees it: read its lines, write raw bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.lines: list[bytes] = []

    async def expect(self, prefix: bytes) -> bytes:
        """The next client line starting with *prefix* (earlier ones are kept in ``lines``)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                line = (await self._reader.readline()).rstrip(b"\r\n")
                if not line and self._reader.at_eof():
                    raise AssertionError(f"the client closed before sending {prefix!r}")
                self.lines.append(line)
                if line.startswith(prefix):
                    return line

    async def send(self, *chunks: bytes) -> None:
        """Write each chunk once the client has read all before it, so that it reads each
        chunk on its own (a character cut across two chunks is cut across two reads)."""
        for chunk in chunks:
            self._writer.write(chunk)
            await self._writer.drain()
            await self._until_read()

    async def _until_read(self) -> None:
        """Until the client has read every byte written to it: nothing of ours unacknowledged
        and nothing waiting in its receive queue, as the kernel tells in /proc/net/tcp (Linux)."""
        peer = self._writer.get_extra_info("peername")
        ours = _proc_tcp_address(self._writer.get_extra_info("sockname"))
        theirs = _proc_tcp_address(peer)
        await wait_until(
            lambda: _queued(ours, theirs) == (0, 0), TIMEOUT, f"the client {peer} to read all sent"
        )

    async def welcome(self, *before: bytes) -> str:
        """Answer CAP and registration (after the *before* bytes); return the client's nick."""
        await self.expect(b"CAP LS")
        await self.send(f":{NAME} CAP * LS :\r\n".encode())
        nick = (await self.expect(b"NICK ")).split()[1].decode()
        await self.expect(b"USER ")
        await self.send(*before)
        await self.send(
            f":{NAME} 001 {nick} :Welcome\r\n:{NAME} 376 {nick} :End of MOTD\r\n".encode()
        )
        return nick

    async def accept_join(self, nick: str) -> str:
        """Let the client into the channel it asks for; return the channel."""
        channel = (await self.expect(b"JOIN ")).split()[1].decode()
        await self.send(
            f":{nick}!u@h JOIN {channel}\r\n"
            f":{NAME} 353 {nick} = {channel} :{nick} bob\r\n"
            f":{NAME} 366 {nick} {channel} :End of NAMES\r\n".encode()
        )
        return channel

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def _proc_tcp_address(address: tuple[str, int]) -> str:
    """An IPv4 socket address as /proc/net/tcp writes it: 127.0.0.1:6667 is 0100007F:1A0B."""
    host, port = address
    return f"{int.from_bytes(socket.inet_aton(host), 'little'):08X}:{port:04X}"


def _queued(ours: str, theirs: str) -> tuple[int, int]:
    """Bytes of the connection ours ⇄ theirs in flight: (our send queue, their receive queue)."""
    sent = received = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, _, queues = line.split()[1:5]
        if (local, remote) == (ours, theirs):
            sent = int(queues.split(":")[0], 16)
        elif (local, remote) == (theirs, ours):
            received = int(queues.split(":")[1], 16)
    if sent is None or received is None:
        raise AssertionError(f"no connection {ours} ⇄ {theirs} in /proc/net/tcp")
    return sent, received


Script = Callable[[HostileConnection], Awaitable[None]]


class HostileIrcServer:
    """Listens on 127.0.0.1; every connection runs *script*, then stays open until stopped."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._server: asyncio.Server | None = None
        self._connections: list[HostileConnection] = []
        self.failures: list[BaseException] = []
        self.done = asyncio.Event()

    @property
    def port(self) -> int:
        return port_of(self._server)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in self._connections:
                await connection.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = HostileConnection(reader, writer)
        self._connections.append(connection)
        try:
            await self._script(connection)
        except Exception as failure:  # the test asserts on failures
            self.failures.append(failure)
        finally:
            self.done.set()
        with contextlib.suppress(OSError):
            await reader.read()  # keep the connection as the script left it
