"""Questions the user asks the IRC network and the answers that trickle back, without I/O.

A channel list is LIST answered by 321, many 322 and 323; a client's version or round
trip is a CTCP PRIVMSG answered (maybe) by a CTCP NOTICE. Each question carries an
:data:`Answer` callback, called once with the result or a bridge.errors exception; the
session turns it into a future and bounds the wait. Everything kept is bounded: the list
keeps the most populated channels, a finished list is reused briefly, and only a few
CTCP questions wait at a time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bridge.addressing import RoomAddress
from bridge.errors import LegacyError, NoSuchContact, RateLimited
from bridge.network import RoomListing, SoftwareVersion
from plugins.irc.protocol import ctcp
from plugins.irc.protocol.casemap import fold
from plugins.irc.protocol.formatting import irc_to_plain
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, cmd

T = TypeVar("T")
Answer = Callable[[T | LegacyError], None]

LIST_TIMEOUT = 30.0
"""Seconds a LIST may take before a new question sends it again (the session waits as long)."""
LIST_CACHE_SECONDS = 60.0
"""A finished list answers the next questions for this long (disco browsing pages it)."""
MAX_LISTED = 5000
"""Channels kept from one LIST: the most populated ones (big networks have 50 000)."""
CTCP_TIMEOUT = 10.0
"""Seconds the session waits for a client's CTCP answer."""
MAX_PENDING_CTCP = 16


@dataclass(slots=True)
class _Collection:
    started: float
    waiters: list[Answer[list[RoomListing]]]
    # (users, name, topic) in a min-heap, so the least populated is dropped first.
    heap: list[tuple[int, str, str]]


class ChannelList:
    """One LIST at a time for one connection, shared by everyone who asks meanwhile."""

    def __init__(self, server: str, features: Callable[[], ServerFeatures]) -> None:
        self._server = server
        self._features = features
        self._collecting: _Collection | None = None
        self._cached: tuple[float, list[RoomListing]] | None = None

    def request(self, now: float, answer: Answer[list[RoomListing]]) -> list[IrcMessage]:
        """Ask for the list; LIST goes out unless a fresh answer or a running LIST serves."""
        if self._cached is not None and now - self._cached[0] < LIST_CACHE_SECONDS:
            answer(list(self._cached[1]))
            return []
        self._cached = None
        running = self._collecting
        if running is not None and now - running.started < LIST_TIMEOUT:
            running.waiters.append(answer)
            return []
        self._collecting = _Collection(now, [answer], [])
        return [cmd("LIST")]

    def on_start(self, message: IrcMessage) -> bool:
        """321: the list begins (and replaces anything collected from an earlier attempt)."""
        if self._collecting is None:
            return False
        self._collecting.heap.clear()
        return True

    def on_item(self, message: IrcMessage) -> bool:
        """322 ``me #chan users :topic``; servers may put ``[+modes]`` before the topic."""
        running = self._collecting
        if running is None:
            return False
        name, users = message.param(1), message.param(2)
        if not self._features().is_channel(name):
            return True  # secret channels show as "*"
        count = int(users) if users.isascii() and users.isdigit() else 0
        topic = irc_to_plain(_without_modes(message.param(3))).strip()
        item = (count, name, topic)
        if len(running.heap) < MAX_LISTED:
            heapq.heappush(running.heap, item)
        elif item > running.heap[0]:
            heapq.heapreplace(running.heap, item)
        return True

    def on_end(self, message: IrcMessage) -> bool:
        """323: answer everyone waiting, and keep the list briefly (counted from the LIST)."""
        running, self._collecting = self._collecting, None
        if running is None:
            return False
        listings = [
            RoomListing(RoomAddress(self._server, name), users, topic)
            for users, name, topic in sorted(running.heap, key=lambda item: (-item[0], item[1]))
        ]
        self._cached = (running.started, listings)
        for answer in running.waiters:
            answer(list(listings))
        return True

    def on_refused(self, message: IrcMessage) -> bool:
        """263 (try again later) or 416 (too many matches) about our LIST."""
        if self._collecting is None or message.param(1).upper() not in ("LIST", ""):
            return False
        said = irc_to_plain(message.param(-1))
        self.fail(RateLimited(f"{self._server} refused to list its channels now: {said}"))
        return True

    def fail(self, error: LegacyError) -> None:
        running, self._collecting = self._collecting, None
        for answer in running.waiters if running is not None else ():
            answer(error)


def _without_modes(topic: str) -> str:
    """``[+nt] topic`` → ``topic`` (InspIRCd, Solanum and others show modes this way)."""
    if topic.startswith("[+") and "]" in topic:
        return topic.partition("]")[2].lstrip(" ")
    return topic


@dataclass(frozen=True, slots=True)
class _Question:
    nick: str  # folded
    command: str
    argument: str
    answer: Answer[str]


class CtcpQuestions:
    """CTCP VERSION and PING sent to people, until their NOTICE answers come back."""

    def __init__(self, casemapping: Callable[[], str]) -> None:
        self._casemapping = casemapping
        self._waiting: list[_Question] = []  # a few at most; an empty deque weighs 600 bytes
        self._tokens = itertools.count(1)

    def ask(self, nick: str, command: str, answer: Answer[str]) -> list[IrcMessage]:
        """The PRIVMSG asking *nick*; PING carries a token so its answer is recognised."""
        argument = f"xb{next(self._tokens)}" if command == "PING" else ""
        if len(self._waiting) >= MAX_PENDING_CTCP:
            oldest = self._waiting.pop(0)
            oldest.answer(RateLimited("too many questions to IRC clients at once: ask again"))
        self._waiting.append(_Question(self._fold(nick), command, argument, answer))
        return [cmd("PRIVMSG", nick, ctcp.Ctcp(command, argument).to_body())]

    def answered(self, nick: str, reply: ctcp.Ctcp) -> bool:
        """A CTCP NOTICE from *nick*; True when it answered questions of ours."""
        folded = self._fold(nick)
        matches = [
            question
            for question in self._waiting
            if question.nick == folded
            and question.command == reply.command
            and (reply.command != "PING" or reply.argument.strip() == question.argument)
        ]
        for question in matches:
            self._waiting.remove(question)
            question.answer(reply.argument)
        return bool(matches)

    def no_such_nick(self, nick: str, server: str) -> bool:
        """401 for *nick*: the questions to them fail; True when there were any."""
        folded = self._fold(nick)
        matches = [question for question in self._waiting if question.nick == folded]
        for question in matches:
            self._waiting.remove(question)
            question.answer(NoSuchContact(f"nobody is called {nick} on {server} right now"))
        return bool(matches)

    def fail(self, error: LegacyError) -> None:
        waiting, self._waiting = self._waiting, []
        for question in waiting:
            question.answer(error)

    def _fold(self, nick: str) -> str:
        return fold(nick, self._casemapping())


def software_of(reply: str) -> SoftwareVersion:
    """A CTCP VERSION answer as name, version and system.

    Old clients say ``name:version:environment``; most now say something like
    ``irssi v1.4.3 - running on Linux x86_64`` or ``HexChat 2.16.1 [x86_64/Linux]``.
    """
    text = irc_to_plain(reply).strip()
    parts = text.split(":")
    if len(parts) == 3 and parts[0] and " " not in parts[0]:
        return SoftwareVersion(parts[0], parts[1].strip(), parts[2].strip())
    name, _, rest = text.partition(" ")
    version, _, system = rest.partition(" ")
    if any(char.isdigit() for char in version):
        return SoftwareVersion(name, version.removeprefix("v"), system.strip(" -[]"))
    return SoftwareVersion(text or "unknown")
