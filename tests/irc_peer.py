"""A person on IRC, for tests: a plain socket client that records what the server says."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from plugins.irc.protocol.message import IrcMessage, parse_line

LOOPBACK = "127.0.0.1"
TIMEOUT = 10.0

MessagePredicate = Callable[[IrcMessage], bool]


class IrcPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.received: list[IrcMessage] = []
        self._arrival = asyncio.Event()
        self._reading = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, port: int, nick: str) -> IrcPeer:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        peer = cls(reader, writer)
        peer.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} on IRC")
        await peer.wait_for(lambda m: m.command == "001")
        return peer

    def send(self, *lines: str) -> None:
        self._writer.write("".join(f"{line}\r\n" for line in lines).encode())

    def mark(self) -> int:
        return len(self.received)

    async def wait_for(
        self,
        predicate: MessagePredicate,
        timeout: float = TIMEOUT,  # noqa: ASYNC109  (named in the failure message)
        *,
        after: int = 0,
    ) -> IrcMessage:
        position = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in self.received[position:]:
                if predicate(message):
                    return message
            position = len(self.received)
            arrival = self._arrival
            remaining = deadline - loop.time()
            if remaining <= 0:
                shown = "\n  ".join(m.to_line().decode().strip() for m in self.received[-15:])
                raise AssertionError(f"no matching IRC line within {timeout:g} s; last:\n  {shown}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrival.wait(), remaining)

    async def join(self, channel: str) -> None:
        mark = self.mark()
        self.send(f"JOIN {channel}")
        await self.wait_for(lambda m: m.command == "366", after=mark)

    async def _read(self) -> None:
        while line := await self._reader.readline():
            if not line.strip():
                continue
            message = parse_line(line.rstrip(b"\r\n"))
            if message.command == "PING":
                self.send(f"PONG :{message.param(0)}")
            self.received.append(message)
            self._arrival.set()
            self._arrival = asyncio.Event()

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError):
            self.send("QUIT :bye")
            await self._writer.drain()
        self._writer.close()
        self._reading.cancel()
