"""What one Matrix room's relations need remembered: reactions by sender, message authors.

XMPP (XEP-0444) speaks of a sender's whole set of reactions to a message, Matrix of one
``m.annotation`` event per reaction. The book keeps, per (target, sender), which
annotation event carries which key, so one new or redacted annotation becomes the
sender's full set again, and so the user's own set can be changed by adding and
redacting single events. It also keeps who wrote each message, to tell a redaction by
its author (XEP-0424) from a moderator's (XEP-0425). Both are bounded: the oldest go.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

MAX_TRACKED = 2_000
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Annotation:
    """The reaction *key* of *sender* to the message *target*."""

    target: str
    sender: str
    key: str


class RelationBook:
    """Annotations and message authors seen in one room, newest kept."""

    def __init__(self, limit: int = MAX_TRACKED) -> None:
        self._limit = limit
        self._annotations: OrderedDict[str, Annotation] = OrderedDict()
        self._authors: OrderedDict[str, str] = OrderedDict()

    def add_author(self, event_id: str, sender: str) -> None:
        _put(self._authors, event_id, sender, self._limit)

    def author_of(self, event_id: str) -> str | None:
        return self._authors.get(event_id)

    def add_annotation(self, event_id: str, annotation: Annotation) -> None:
        _put(self._annotations, event_id, annotation, self._limit)

    def has_annotation(self, event_id: str) -> bool:
        return event_id in self._annotations

    def remove_annotation(self, event_id: str) -> Annotation | None:
        """Forget the annotation *event_id* (redacted); it, or None when it was none."""
        return self._annotations.pop(event_id, None)

    def keys(self, target: str, sender: str) -> tuple[str, ...]:
        """*sender*'s reactions to *target*, in the order they came, each once."""
        keys = (
            a.key for a in self._annotations.values() if (a.target, a.sender) == (target, sender)
        )
        return tuple(dict.fromkeys(keys))

    def events_of(self, target: str, sender: str) -> dict[str, str]:
        """*sender*'s annotation events on *target*: event id → key."""
        return {
            event_id: a.key
            for event_id, a in self._annotations.items()
            if (a.target, a.sender) == (target, sender)
        }


def _put(table: OrderedDict[str, V], key: str, value: V, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)
