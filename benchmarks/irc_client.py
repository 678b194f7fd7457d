"""A cheap IRC client for measuring: raw asyncio stream, a line parser of a few lines.

It registers, answers PING, reports PRIVMSGs and keeps channel member lists (NAMES, JOIN,
PART, KICK, QUIT, NICK) so a benchmark can wait until the other side has arrived.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

_log = logging.getLogger(__name__)

READ_SIZE = 65536
CONNECT_TIMEOUT = 30.0
CLOSE_TIMEOUT = 5.0
_NICK_PREFIXES = "~&@%+"
# Numerics that refuse a JOIN: no such channel, too many channels, full, invite only,
# banned, bad key, registration needed.
_JOIN_REFUSALS = {"403", "405", "471", "473", "474", "475", "477"}
_NICK_REFUSALS = {"431", "432", "433", "436"}


class IrcError(Exception):
    """An IRC step failed; the message names the step and the server's reason."""


@dataclass(frozen=True, slots=True)
class IrcLine:
    prefix: str
    command: str
    params: list[str]

    @property
    def nick(self) -> str:
        """The nick part of the prefix (a server name when a server sent the line)."""
        return self.prefix.partition("!")[0]


def parse_line(line: str) -> IrcLine:
    """Split an RFC 1459 line into prefix, command and parameters (trailing one included)."""
    prefix = ""
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
    line, separator, trailing = line.partition(" :")
    params = line.split()
    command = params.pop(0).upper() if params else ""
    if separator:
        params.append(trailing)
    return IrcLine(prefix, command, params)


def _fold(name: str) -> str:
    return name.lower()


class IrcClient:
    """One registered IRC connection; build it with `await IrcClient.connect(...)`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nick: str
    ) -> None:
        self.nick = nick
        self.on_privmsg: Callable[[str, str, str], None] | None = None
        self.members: dict[str, set[str]] = {}  # folded channel → folded nicks
        self._reader = reader
        self._writer = writer
        self._partial = b""
        self._backlog: list[IrcLine] = []  # read during registration, after the welcome
        self._names: dict[str, set[str]] = {}  # NAMES replies being collected
        self._joins: dict[str, asyncio.Future[None]] = {}
        self._member_waiters: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self._closed: IrcError | None = None

    @classmethod
    async def connect(cls, host: str, port: int, nick: str) -> "IrcClient":
        """Connect and register; return after the welcome (001)."""
        what = f"IRC registration of {nick} on {host}:{port}"
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(host, port)
                client = cls(reader, writer, nick)
                try:
                    await client._register()
                except BaseException:
                    writer.close()
                    raise
        except TimeoutError:
            raise IrcError(f"{what} timed out after {CONNECT_TIMEOUT:g} s") from None
        except OSError as error:
            raise IrcError(f"{what} could not connect: {error}") from error
        except IrcError as error:
            raise IrcError(f"{what} failed: {error}") from None
        client._reader_task = asyncio.create_task(client._read_loop(), name=f"irc {nick}")
        return client

    def send_line(self, line: str) -> None:
        """Queue one raw line (without CR LF); no await."""
        self._writer.write(line.encode() + b"\r\n")

    def privmsg(self, target: str, text: str) -> None:
        """Queue a PRIVMSG; `drain()` waits for the socket to take it."""
        self._writer.write(f"PRIVMSG {target} :{text}\r\n".encode())

    async def drain(self) -> None:
        await self._writer.drain()

    async def join(self, channel: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Join `channel`; return at the end of its NAMES list (366)."""
        if self._closed is not None:
            raise self._closed
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._joins[_fold(channel)] = future
        self.send_line(f"JOIN {channel}")
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise IrcError(f"join of {channel} got no NAMES end within {timeout:g} s") from None
        finally:
            self._joins.pop(_fold(channel), None)

    async def wait_for_member(self, channel: str, nick: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Return once `nick` is in `channel` as this client sees it."""
        if _fold(nick) in self.members.get(_fold(channel), ()):
            return
        if self._closed is not None:
            raise self._closed
        key = (_fold(channel), _fold(nick))
        future = self._member_waiters.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._member_waiters[key] = future
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(future)
        except TimeoutError:
            raise IrcError(f"{nick} did not appear in {channel} within {timeout:g} s") from None
        finally:
            if future.done():
                self._member_waiters.pop(key, None)

    async def close(self) -> None:
        """Say QUIT and close the connection."""
        if self._closed is None:
            self._closed = IrcError(f"IRC connection of {self.nick} was closed by the client")
            self.send_line("QUIT :bye")
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        self._writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()

    async def _register(self) -> None:
        self.send_line(f"NICK {self.nick}")
        self.send_line(f"USER {self.nick} 0 * :{self.nick}")
        while True:
            lines = await self._read_lines()
            for index, line in enumerate(lines):
                if line.command == "001":
                    self.nick = line.params[0]
                    self._backlog = lines[index + 1 :]
                    return
                if line.command == "PING":
                    self._pong(line)
                elif line.command in _NICK_REFUSALS:
                    raise IrcError(f"nick refused: {line.command} {line.params[-1]}")
                elif line.command == "ERROR":
                    raise IrcError(f"server said ERROR: {' '.join(line.params)}")

    async def _read_lines(self) -> list[IrcLine]:
        data = await self._reader.read(READ_SIZE)
        if not data:
            raise IrcError("the server closed the connection")
        *complete, self._partial = (self._partial + data).split(b"\n")
        return [parse_line(raw.rstrip(b"\r").decode(errors="replace")) for raw in complete if raw]

    async def _read_loop(self) -> None:
        try:
            for line in self._backlog:
                self._dispatch(line)
            self._backlog = []
            while True:
                for line in await self._read_lines():
                    self._dispatch(line)
        except (IrcError, ConnectionError) as error:
            self._end(str(error))
        except Exception as error:  # a bug in on_privmsg: loud, and the waiters are told
            _log.exception("handling an IRC line for %s failed", self.nick)
            self._end(repr(error))

    def _end(self, reason: str) -> None:
        if self._closed is None:
            self._closed = IrcError(f"IRC connection of {self.nick} ended: {reason}")
        for waiter in (*self._joins.values(), *self._member_waiters.values()):
            if not waiter.done():
                waiter.set_exception(self._closed)

    def _pong(self, line: IrcLine) -> None:
        self.send_line(f"PONG :{line.params[-1]}" if line.params else "PONG")

    def _dispatch(self, line: IrcLine) -> None:
        command, params = line.command, line.params
        if command == "PRIVMSG":
            if self.on_privmsg is not None and len(params) == 2:
                self.on_privmsg(line.nick, params[0], params[1])
        elif command == "PING":
            self._pong(line)
        elif command == "JOIN" and params:
            self._add(params[0], line.nick)
        elif command == "PART" and params:
            self._remove(params[0], line.nick)
        elif command == "KICK" and len(params) >= 2:
            self._remove(params[0], params[1])
        elif command == "QUIT":
            for channel in list(self.members):
                self._remove(channel, line.nick)
        elif command == "NICK" and params:
            self._rename(line.nick, params[0])
        elif command == "353" and len(params) >= 4:
            names = self._names.setdefault(_fold(params[2]), set())
            names.update(_fold(name.lstrip(_NICK_PREFIXES)) for name in params[3].split())
        elif command == "366" and len(params) >= 2:
            self._names_done(params[1])
        elif command in _JOIN_REFUSALS and len(params) >= 2:
            waiter = self._joins.get(_fold(params[1]))
            if waiter is not None and not waiter.done():
                reason = f"{command} {params[-1]}"
                waiter.set_exception(IrcError(f"join of {params[1]} refused: {reason}"))

    def _names_done(self, channel: str) -> None:
        folded = _fold(channel)
        names = self._names.pop(folded, set())
        self.members.setdefault(folded, set()).update(names)
        for name in names:
            self._member_arrived(folded, name)
        waiter = self._joins.get(folded)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _add(self, channel: str, nick: str) -> None:
        folded, name = _fold(channel), _fold(nick)
        self.members.setdefault(folded, set()).add(name)
        self._member_arrived(folded, name)

    def _member_arrived(self, channel: str, nick: str) -> None:
        if self._member_waiters:
            waiter = self._member_waiters.pop((channel, nick), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _remove(self, channel: str, nick: str) -> None:
        folded, name = _fold(channel), _fold(nick)
        if name == _fold(self.nick):
            self.members.pop(folded, None)
        else:
            self.members.get(folded, set()).discard(name)

    def _rename(self, old: str, new: str) -> None:
        if _fold(old) == _fold(self.nick):
            self.nick = new
        for channel, names in self.members.items():
            if _fold(old) in names:
                names.discard(_fold(old))
                self._add(channel, new)
