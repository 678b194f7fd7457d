"""Matching IRCv3 echo-message echoes to the XMPP messages they came from.

The core reflects the user's message at once and drops the network's echo carrying the
same XMPP id. A long message goes out as several PRIVMSGs: only the echo of the first
piece carries the id, the others are dropped, so the message is reflected exactly once.
Echoes come back in the order the lines were sent, so matching is first in, first out
per target. Bounded: a server that never echoes costs a few kilobytes, not a leak.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MAX_PENDING_PER_TARGET = 64
MAX_TARGETS = 32


@dataclass(frozen=True, slots=True)
class Echo:
    """What to do with one echoed line: show it (as the echo of ``echo_of``) or drop it."""

    show: bool
    echo_of: str | None = None


@dataclass(slots=True)
class _Sent:
    xmpp_id: str
    pieces: int
    echoed: int = 0


class EchoMatcher:
    """The XMPP ids of sent messages, per (case-folded) target, until their echoes are back."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[_Sent]] = {}

    def expect(self, target: str, xmpp_id: str, pieces: int) -> None:
        """*xmpp_id* went to *target* as *pieces* lines."""
        queue = self._sent.pop(target, None) or deque(maxlen=MAX_PENDING_PER_TARGET)
        queue.append(_Sent(xmpp_id, pieces))
        self._sent[target] = queue  # re-inserted: the least recently used target goes first
        while len(self._sent) > MAX_TARGETS:
            del self._sent[next(iter(self._sent))]

    def match(self, target: str) -> Echo:
        """Our own line to *target* came back; a line nobody waits for was sent elsewhere."""
        queue = self._sent.get(target)
        if not queue:
            return Echo(show=True)
        sent = queue[0]
        sent.echoed += 1
        if sent.echoed >= sent.pieces:
            queue.popleft()
            if not queue:
                del self._sent[target]
        return Echo(show=True, echo_of=sent.xmpp_id) if sent.echoed == 1 else Echo(show=False)

    def clear(self) -> None:
        """The connection is gone: no echo will come."""
        self._sent.clear()
