"""One XMPP user on IRC: a link per server, shared by all the user's resources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bridge.addressing import ContactAddress, ServerAddress
from bridge.errors import LegacyError, NotConnected, NotSupported
from bridge.events import (
    ChangeNick,
    JoinRoom,
    KickOccupant,
    LeaveRoom,
    SendMessage,
    SendTyping,
    SetOccupantPower,
    SetPresence,
    SetSubject,
    UserAction,
)
from bridge.network import RoomListing, SoftwareVersion
from plugins.irc.client_state import IrcClientState
from plugins.irc.link import IrcLink

log = logging.getLogger(__name__)


class IrcSession:
    """The bridge.network.LegacySession of one user: routes each action to its server's link."""

    def __init__(self, open_link: Callable[[str, str], asyncio.Task[IrcLink]]) -> None:
        self._open_link = open_link
        self._links: dict[str, asyncio.Task[IrcLink]] = {}

    async def link(self, server: str, nick: str = "") -> IrcLink:
        """The link to *server*, dialled on first use (one dial even when asked twice at once)."""
        key = server.lower()
        task = self._links.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._open_link(server, nick)
            self._links[key] = task
        try:
            link = await asyncio.shield(task)
        except LegacyError:
            if self._links.get(key) is task:
                del self._links[key]
            raise
        if not link.ready.is_set():
            await link.ready.wait()
        return link

    def existing(self, server: str) -> IrcLink | None:
        task = self._links.get(server.lower())
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def apply(self, action: UserAction) -> None:
        if isinstance(action, SetPresence):
            for ready in self._ready_links():
                ready.run(_state(ready).away(action.show, action.status))
            return
        if isinstance(action, SendTyping):
            return  # IRC has no typing notifications everyone sees
        if isinstance(action, LeaveRoom):
            joined = self.existing(action.room.server)
            if joined is not None and joined.state is not None:
                joined.run(joined.state.part(action.room.name, action.reason))
            return
        server = _server_of(action)
        nick = action.nick if isinstance(action, JoinRoom) else ""
        link = await self.link(server, nick)
        state = _state(link)
        if isinstance(action, JoinRoom):
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
        elif isinstance(action, ChangeNick):
            link.run(state.change_nick(action.nick))
        elif isinstance(action, SetSubject):
            link.run(state.set_topic(action.room.name, action.subject))
        elif isinstance(action, KickOccupant):
            link.run(state.kick(action.room.name, action.nick, action.reason))
        elif isinstance(action, SetOccupantPower):
            link.run(
                state.set_power(action.room.name, action.nick, action.role, action.affiliation)
            )
        else:
            raise NotSupported(f"IRC has no {type(action).__name__}")

    async def list_rooms(self, server: ServerAddress) -> list[RoomListing]:
        raise NotSupported("listing channels is not there yet")

    async def contact_version(self, contact: ContactAddress) -> SoftwareVersion:
        raise NotSupported("asking a nick's client version is not there yet")

    async def ping_contact(self, contact: ContactAddress) -> float:
        raise NotSupported("pinging a nick is not there yet")

    def _ready_links(self) -> list[IrcLink]:
        links = [self.existing(server) for server in self._links]
        return [link for link in links if link is not None and link.state is not None]

    def servers(self) -> list[str]:
        return [server for server in self._links if self.existing(server) is not None]

    async def close(self, reason: str) -> None:
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
    if isinstance(action, JoinRoom | ChangeNick | SetSubject | KickOccupant | SetOccupantPower):
        return action.room.server
    raise NotSupported(f"IRC has no {type(action).__name__}")


def _state(link: IrcLink) -> IrcClientState:
    if link.state is None:
        raise NotConnected(f"not connected to {link.config.server} right now; retrying")
    return link.state
