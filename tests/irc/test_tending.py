"""A reconnected server gets the user's watches at once, without a poll to notice it."""

from __future__ import annotations

import asyncio
import math

from bridge.addressing import ContactAddress
from bridge.events import WatchContact
from bridge.flag import Flag
from plugins.irc.client_state import Output
from plugins.irc.encodings import ChannelEncodings
from plugins.irc.protocol.message import IrcMessage
from plugins.irc.session import IrcSession
from tests.irc.client_helpers import SERVER, make_state
from tests.waiting import wait_until


class FakeLink:
    """Enough of IrcLink for the session: a ready state, the lines it was asked to send."""

    def __init__(self) -> None:
        self.state = make_state()
        self.ready = Flag()
        self.ready.set()
        self.on_ready: object = None
        self.encodings = ChannelEncodings()
        self.last_private = -math.inf
        self.lines: list[str] = []

    def run(self, outputs: list[Output]) -> None:
        self.lines += [o.to_line().decode().strip() for o in outputs if isinstance(o, IrcMessage)]

    def join_nick(self, requested: str) -> str:
        return requested

    async def close(self, reason: str) -> None:
        pass


async def test_a_reconnection_is_handed_the_watches_at_once() -> None:
    link = FakeLink()

    def dial(server: str, nick: str) -> asyncio.Task[FakeLink]:
        async def ready() -> FakeLink:
            return link

        return asyncio.get_running_loop().create_task(ready())

    irc = IrcSession(dial)  # type: ignore[arg-type]
    try:
        await irc.apply(WatchContact(ContactAddress(SERVER, "bob")))
        await wait_until(lambda: "ISON bob" in link.lines, 1, "the first ISON")
        link.lines.clear()
        link.ready.clear()
        link.state = make_state()  # the connection was lost and is registered again
        link.ready.set()
        assert callable(link.on_ready)
        link.on_ready()
        await wait_until(lambda: "ISON bob" in link.lines, 1, "the ISON on the new connection")
    finally:
        await irc.close("done")
