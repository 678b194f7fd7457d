"""A server's connection closes once the user left its last channel (and nothing else keeps it)."""

from __future__ import annotations

import asyncio
import math
from typing import cast

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import JoinRoom, LeaveRoom, SendMessage, WatchContact
from plugins.irc.client_state import Output
from plugins.irc.encodings import ChannelEncodings
from plugins.irc.session import IrcSession
from tests.irc.client_helpers import SERVER, make_state
from tests.waiting import wait_until

GRACE = 0.05
FIRST, SECOND = RoomAddress(SERVER, "#first"), RoomAddress(SERVER, "#second")


class FakeLink:
    """Enough of IrcLink for the session: a connected state that records whether it closed."""

    def __init__(self) -> None:
        self.state = make_state()
        self.ready = asyncio.Event()
        self.ready.set()
        self.encodings = ChannelEncodings()
        self.last_private = -math.inf
        self.closed_with: str | None = None

    def run(self, outputs: list[Output]) -> None:
        pass

    def join_nick(self, requested: str) -> str:
        return requested

    def note_private(self) -> None:
        self.last_private = asyncio.get_running_loop().time()

    async def close(self, reason: str) -> None:
        self.closed_with = reason


class Dialler:
    def __init__(self) -> None:
        self.links: list[FakeLink] = []

    def __call__(self, server: str, nick: str) -> asyncio.Task[FakeLink]:
        async def dial() -> FakeLink:
            self.links.append(FakeLink())
            return self.links[-1]

        return asyncio.get_running_loop().create_task(dial())


def session() -> tuple[IrcSession, Dialler]:
    dialler = Dialler()
    return IrcSession(dialler, idle_grace=GRACE), dialler  # type: ignore[arg-type]


async def test_leaving_the_last_channel_closes_the_connection_and_a_join_dials_again() -> None:
    irc, dialler = session()
    try:
        await irc.apply(JoinRoom(FIRST, "me"))
        await irc.apply(JoinRoom(SECOND, "me"))
        await irc.apply(LeaveRoom(FIRST))
        await asyncio.sleep(GRACE * 3)
        assert dialler.links[0].closed_with is None, "still in #second"
        await irc.apply(LeaveRoom(SECOND))
        await wait_until(lambda: dialler.links[0].closed_with is not None, message="the QUIT")
        assert irc.existing(SERVER) is None
        await irc.apply(JoinRoom(FIRST, "me"))
        assert len(dialler.links) == 2 and cast(object, irc.existing(SERVER)) is dialler.links[1]
    finally:
        await irc.close("done")


async def test_a_join_within_the_grace_period_keeps_the_connection() -> None:
    irc, dialler = session()
    try:
        await irc.apply(JoinRoom(FIRST, "me"))
        await irc.apply(LeaveRoom(FIRST))
        await irc.apply(JoinRoom(SECOND, "me"))
        await asyncio.sleep(GRACE * 3)
        assert dialler.links[0].closed_with is None and len(dialler.links) == 1
    finally:
        await irc.close("done")


async def test_a_recent_private_chat_or_a_watched_contact_keeps_the_connection() -> None:
    bob = ContactAddress(SERVER, "bob")
    for keep in (SendMessage(bob, "hi", "x1"), WatchContact(bob)):
        irc, dialler = session()
        try:
            await irc.apply(JoinRoom(FIRST, "me"))
            await irc.apply(keep)
            await irc.apply(LeaveRoom(FIRST))
            await asyncio.sleep(GRACE * 3)
            assert dialler.links[0].closed_with is None, keep
        finally:
            await irc.close("done")


async def test_unwatching_the_last_contact_of_a_server_without_channels_closes_it() -> None:
    irc, dialler = session()
    bob = ContactAddress(SERVER, "bob")
    try:
        await irc.apply(WatchContact(bob))
        await wait_until(lambda: bool(dialler.links), message="the watch dialling the server")
        await irc.apply(WatchContact(bob, watch=False))
        await wait_until(lambda: dialler.links[0].closed_with is not None, message="the QUIT")
    finally:
        await irc.close("done")
