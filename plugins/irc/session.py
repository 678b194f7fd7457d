"""One XMPP user on IRC: a link per server, shared by all the user's resources.

Besides routing actions, the session keeps what must outlive one IRC connection: the
nicks whose presence the user watches and what each channel last showed (handed from a
lost connection's state to the next one), and it waits, bounded, for the answers to the
user's questions (channel lists, CTCP VERSION and PING).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress
from bridge.errors import LegacyError, NotConnected, NotSupported
from bridge.events import (
    ChangeNick,
    InviteContact,
    JoinRoom,
    KickOccupant,
    LeaveRoom,
    SendMessage,
    SendTyping,
    SetOccupantPower,
    SetPresence,
    SetSubject,
    UserAction,
    WatchContact,
)
from bridge.flag import Flag
from bridge.network import RoomListing, SoftwareVersion
from plugins.irc.client_state import IrcClientState, Output
from plugins.irc.encodings import ChannelEncoding
from plugins.irc.link import IrcLink
from plugins.irc.protocol.casemap import fold
from plugins.irc.queries import CTCP_TIMEOUT, LIST_TIMEOUT, Answer, software_of
from plugins.irc.watch import ISON_INTERVAL

log = logging.getLogger(__name__)

T = TypeVar("T")
Question = Callable[[IrcClientState, Answer[T]], list[Output]]
TEND_SECONDS = 5.0
"""How soon tending tries again when the connection was not ready for its lines."""
PRIVATE_QUIET_SECONDS = 600.0
"""A server with a private message this recent keeps its connection, even without channels."""
IDLE_QUIT_MESSAGE = "Not in any channel any more"


async def _no_encoding(room: RoomAddress) -> ChannelEncoding:
    return ChannelEncoding()


class IrcSession:
    """The bridge.network.LegacySession of one user: routes each action to its server's link."""

    def __init__(
        self,
        open_link: Callable[[str, str], asyncio.Task[IrcLink]],
        *,
        channel_encoding: Callable[[RoomAddress], Awaitable[ChannelEncoding]] = _no_encoding,
        idle_grace: float = 30.0,
    ) -> None:
        self._open_link = open_link
        self._channel_encoding = channel_encoding
        self._idle_grace = idle_grace
        self._idle_checks: dict[str, asyncio.Task[None]] = {}
        self._links: dict[str, asyncio.Task[IrcLink]] = {}
        self._presence: SetPresence | None = None
        """The user's availability, for links dialled later (IRC AWAY on connect)."""
        # Per server: the watched nicks (folded → as the user wrote it), the tending task.
        self._watched: dict[str, dict[str, str]] = {}
        self._tending: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, Flag] = {}

    async def link(self, server: str, nick: str = "") -> IrcLink:
        """The link to *server*, dialled on first use (one dial even when asked twice at once)."""
        key = server.lower()
        task = self._links.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._open_link(server, nick)
            self._links[key] = task
        new = not task.done()
        try:
            link = await asyncio.shield(task)
        except LegacyError:
            if self._links.get(key) is task:
                del self._links[key]
            raise
        if new and self._presence is not None and link.state is not None:
            link.run(link.state.away(self._presence.show, self._presence.status))
        if not link.ready.is_set():
            await link.ready.wait()
        self._tend(server)
        return link

    def existing(self, server: str) -> IrcLink | None:
        task = self._links.get(server.lower())
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def apply(self, action: UserAction) -> None:
        if isinstance(action, SetPresence):
            self._presence = action
            for ready in self._ready_links():
                ready.run(_state(ready).away(action.show, action.status))
            return
        if isinstance(action, SendTyping):
            return  # IRC has no typing notifications everyone sees
        if isinstance(action, WatchContact):
            self._watch(action.contact, action.watch)
            return
        if isinstance(action, LeaveRoom):
            joined = self.existing(action.room.server)
            if joined is not None and joined.state is not None:
                joined.run(joined.state.part(action.room.name, action.reason))
                self._close_when_idle(action.room.server)
            return
        server = _server_of(action)
        nick = action.nick if isinstance(action, JoinRoom) else ""
        encoding = (
            await self._channel_encoding(action.room) if isinstance(action, JoinRoom) else None
        )
        link = await self.link(server, nick)
        state = _state(link)
        if isinstance(action, JoinRoom):
            link.encodings.use(action.room.name, encoding or ChannelEncoding())
            link.run(state.join(action.room.name, link.join_nick(action.nick), action.password))
        elif isinstance(action, SendMessage):
            if isinstance(action.target, ServerAddress):
                for line in action.body.splitlines():
                    if line.strip():
                        link.send_raw(line)
                return
            link.run(
                state.say(action.target, action.body, action=action.action, xmpp_id=action.xmpp_id)
            )
            if isinstance(action.target, ContactAddress):
                link.note_private()
        elif isinstance(action, ChangeNick):
            link.run(state.change_nick(action.nick))
        elif isinstance(action, SetSubject):
            link.run(state.set_topic(action.room.name, action.subject))
        elif isinstance(action, KickOccupant):
            link.run(state.kick(action.room.name, action.nick, action.reason))
        elif isinstance(action, InviteContact):
            link.run(state.invite(action.room.name, action.contact.name))
        elif isinstance(action, SetOccupantPower):
            link.run(
                state.set_power(action.room.name, action.nick, action.role, action.affiliation)
            )
        else:
            raise NotSupported(f"IRC has no {type(action).__name__}")

    async def list_rooms(self, server: ServerAddress) -> list[RoomListing]:
        link = await self.link(server.server)
        now = asyncio.get_running_loop().time()
        silence = f"{server.server} did not list its channels within {LIST_TIMEOUT:g} s: try again"
        try:
            return await _ask(
                link, lambda state, answer: state.list_channels(now, answer), LIST_TIMEOUT, silence
            )
        finally:
            self._close_when_idle(server.server)

    async def contact_version(self, contact: ContactAddress) -> SoftwareVersion:
        return software_of(await self._ask_client(contact, "VERSION"))

    async def ping_contact(self, contact: ContactAddress) -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self._ask_client(contact, "PING")
        return loop.time() - started

    async def _ask_client(self, contact: ContactAddress, command: str) -> str:
        """CTCP *command* to *contact*; their client's answer, or an error that says why not."""
        link = await self.link(contact.server)
        silence = (
            f"{contact.name} did not answer a CTCP {command} within {CTCP_TIMEOUT:g} s:"
            " their IRC client may not answer such requests"
        )
        return await _ask(
            link,
            lambda state, answer: state.ask_client(contact, command, answer),
            CTCP_TIMEOUT,
            silence,
        )

    # ------------------------------------------------------------------ across connections

    def _watch(self, contact: ContactAddress, watch: bool) -> None:
        """Remember the nick (or forget it); the server's tending task tells the connection."""
        nicks = self._watched.setdefault(contact.server.lower(), {})
        key = fold(contact.name, "rfc1459")
        if watch:
            nicks[key] = contact.name
        else:
            nicks.pop(key, None)
            self._close_when_idle(contact.server)
        self._tend(contact.server, wake=True)

    def _tend(self, server: str, *, wake: bool = False) -> None:
        """Make sure *server* has its tending task (dialling it if need be)."""
        key = server.lower()
        task = self._tending.get(key)
        if task is None or task.done():
            self._tending[key] = asyncio.get_running_loop().create_task(self._tending_loop(server))
        if wake:
            self._wake.setdefault(key, Flag()).set()

    async def _tending_loop(self, server: str) -> None:
        """Hands watches and seen history to each new connection; polls ISON meanwhile."""
        key = server.lower()
        wake = self._wake.setdefault(key, Flag())
        try:
            link = await self.link(server)
        except LegacyError as error:
            log.info("cannot watch contacts on %s: %s", server, error)
            return
        link.on_ready = wake.set  # a reconnection is handed over at once
        loop = asyncio.get_running_loop()
        previous: IrcClientState | None = None
        polled = loop.time()
        while True:
            wake.clear()
            state = link.state
            retry = False
            if state is not None and link.ready.is_set():
                fresh, now = state is not previous, loop.time()
                try:
                    if fresh and previous is not None:
                        link.run(state.resume(previous))
                    link.run(state.watch(self._watched.get(key, {}).values()))
                    if fresh:
                        polled = now  # watching just sent MONITOR or ISON
                    elif now - polled >= ISON_INTERVAL:
                        link.run(state.poll_contacts())
                        polled = now
                except LegacyError as error:
                    log.debug("tending %s waits for the connection: %s", server, error)
                    retry = True
                previous = state
            # Asleep until told (a watch changed, the link is ready again) or an ISON poll is
            # due: thousands of users watching nobody cost no wake-ups.
            due = polled + ISON_INTERVAL if self._watched.get(key) else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(loop.time() + TEND_SECONDS if retry else due):
                    await wake.wait()

    # ------------------------------------------------------------------ idle connections

    def _close_when_idle(self, server: str) -> None:
        """Close the link to *server* once nothing keeps it (Biboumi's QUIT after the last
        channel), so connections do not pile up; a later join dials again."""
        key = server.lower()
        check = self._idle_checks.get(key)
        if check is None or check.done():
            self._idle_checks[key] = asyncio.get_running_loop().create_task(self._idle_check(key))

    async def _idle_check(self, key: str) -> None:
        loop = asyncio.get_running_loop()
        wait = self._idle_grace
        while True:
            await asyncio.sleep(wait)
            link = self.existing(key)
            if (
                link is None
                or link.state is None
                or link.state.channels()
                or self._watched.get(key)
            ):
                return
            wait = link.last_private + PRIVATE_QUIET_SECONDS - loop.time()
            if wait <= 0:
                break
        del self._links[key]  # no await since the check: nothing joined in between
        tending = self._tending.pop(key, None)
        if tending is not None:
            tending.cancel()
        log.debug("closing the idle connection to %s", key)
        await link.close(IDLE_QUIT_MESSAGE)

    def _ready_links(self) -> list[IrcLink]:
        links = [self.existing(server) for server in self._links]
        return [link for link in links if link is not None and link.state is not None]

    def servers(self) -> list[str]:
        return [server for server in self._links if self.existing(server) is not None]

    async def close(self, reason: str) -> None:
        for chore in (*self._tending.values(), *self._idle_checks.values()):
            chore.cancel()
        self._tending.clear()
        self._idle_checks.clear()
        for task in self._links.values():
            if not task.done():
                task.cancel()
        links = [self.existing(server) for server in list(self._links)]
        await asyncio.gather(
            *(link.close(reason) for link in links if link is not None), return_exceptions=True
        )
        self._links.clear()


def _server_of(action: UserAction) -> str:
    if isinstance(action, SendMessage):
        target = action.target
        return target.server
    if isinstance(
        action,
        JoinRoom | ChangeNick | SetSubject | KickOccupant | SetOccupantPower | InviteContact,
    ):
        return action.room.server
    raise NotSupported(f"IRC has no {type(action).__name__}")


async def _ask(link: IrcLink, question: Question[T], patience: float, silence: str) -> T:
    """Put *question* to the link's connection; wait *patience* seconds at most for the answer."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def answer(result: T | LegacyError) -> None:
        if future.done():
            return  # answered after we stopped waiting
        if isinstance(result, LegacyError):
            future.set_exception(result)
        else:
            future.set_result(result)

    link.run(question(_state(link), answer))
    try:
        async with asyncio.timeout(patience):
            return await future
    except TimeoutError:
        raise NotConnected(silence) from None


def _state(link: IrcLink) -> IrcClientState:
    if link.state is None:
        raise NotConnected(f"not connected to {link.config.server} right now; retrying")
    return link.state
