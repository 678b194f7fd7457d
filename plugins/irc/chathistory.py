"""IRCv3 draft/chathistory: fill the gap a reconnect left in each channel, once.

What was seen in each channel (the last server time, the recent msgids) outlives the
connection that saw it. After a reconnect, each rejoined channel asks for what came
after that point (``CHATHISTORY AFTER``); the answer arrives in a ``chathistory`` batch
and is delivered with its server times, minus what was already shown. All bounded: a
few channels' worth of ids, a few open batches, a hundred lines per channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from plugins.irc.protocol.casemap import FoldedDict
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, cmd

REPLAY_LIMIT = 100
MAX_IDS_PER_CHANNEL = 128
MAX_CHANNELS = 128
MAX_OPEN_BATCHES = 8
NEEDED_CAPS = frozenset({"draft/chathistory", "batch"})


@dataclass(slots=True)
class _Seen:
    last: datetime | None = None
    ids: list[str] = field(default_factory=list)
    """The newest msgids, oldest first (a list: an empty deque weighs 600 bytes)."""

    def reference(self) -> str | None:
        """Where the gap starts, in CHATHISTORY's words."""
        if self.last is not None:
            return f"timestamp={_timestamp(self.last)}"
        return f"msgid={self.ids[-1]}" if self.ids else None


class SeenHistory:
    """Per channel: the latest server time and the recent msgids seen there."""

    def __init__(self, casemapping: str) -> None:
        self._channels: FoldedDict[_Seen] = FoldedDict(casemapping)

    def saw(self, channel: str, when: datetime | None, msgid: str | None) -> bool:
        """Record a line of *channel*; False when its msgid was seen already."""
        seen = self._channels.pop(channel, None) or _Seen()
        self._channels[channel] = seen  # most recently used last
        while len(self._channels) > MAX_CHANNELS:
            del self._channels[next(iter(self._channels))]
        if msgid is not None and msgid in seen.ids:
            return False
        if msgid is not None:
            seen.ids.append(msgid)
            del seen.ids[:-MAX_IDS_PER_CHANNEL]
        if when is not None and (seen.last is None or when > seen.last):
            seen.last = when
        return True

    def adopt(self, previous: SeenHistory) -> dict[str, str]:
        """Take over what an earlier connection saw; returns each channel's gap start."""
        gaps: dict[str, str] = {}
        for channel, old in previous._channels.items():
            reference = old.reference()
            if reference is not None:
                gaps[channel] = reference
            for msgid in old.ids:
                self.saw(channel, old.last, msgid)
            self.saw(channel, old.last, None)
        return gaps


class HistoryReplay:
    """The CHATHISTORY requests of one connection and the batches answering them."""

    def __init__(
        self, caps: Callable[[], frozenset[str]], features: Callable[[], ServerFeatures]
    ) -> None:
        self._caps = caps
        self._features = features
        self._gaps: FoldedDict[str] = FoldedDict(features().casemapping)
        self._batches: dict[str, str] = {}  # batch reference → channel

    @property
    def enabled(self) -> bool:
        return self._caps() >= NEEDED_CAPS

    def plan(self, gaps: dict[str, str]) -> None:
        """Channels to fill once joined, with where their gap starts."""
        if self.enabled:
            for channel, reference in gaps.items():
                self._gaps[channel] = reference

    def request(self, channel: str) -> list[IrcMessage]:
        """The CHATHISTORY line for *channel*, just joined, if it has a gap to fill."""
        reference = self._gaps.pop(channel, None)
        if reference is None or not self.enabled:
            return []
        return [cmd("CHATHISTORY", "AFTER", channel, reference, str(self._limit()))]

    def on_batch(self, message: IrcMessage) -> bool:
        """``BATCH +ref chathistory #chan`` opens a replay, ``BATCH -ref`` closes it."""
        reference, kind, target = message.param(0), message.param(1).lower(), message.param(2)
        if reference.startswith("-"):
            self._batches.pop(reference[1:], None)
        elif kind == "chathistory" and target and len(self._batches) < MAX_OPEN_BATCHES:
            self._batches[reference.removeprefix("+")] = target
        return True

    def channel_of(self, message: IrcMessage) -> str | None:
        """The channel whose history *message* replays, or None for a live line."""
        batch = message.tags.get("batch")
        return self._batches.get(batch) if batch else None

    def _limit(self) -> int:
        tokens = self._features().tokens
        value = tokens.get("CHATHISTORY") or tokens.get("DRAFT/CHATHISTORY") or ""
        announced = int(value) if value.isascii() and value.isdigit() else 0
        return min(announced, REPLAY_LIMIT) if announced > 0 else REPLAY_LIMIT


def server_time(message: IrcMessage) -> datetime | None:
    """When the server says the line was sent (IRCv3 server-time), if it says so."""
    stamp = message.tags.get("time")
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _timestamp(when: datetime) -> str:
    """IRCv3 server-time form: ``2024-05-01T12:30:00.250Z``."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
