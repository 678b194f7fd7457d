"""Reading a room's state and timeline: topic, encryption, names, the user's own arrival."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from plugins.matrix.media import thumbnail_ref
from plugins.matrix.members import RoomMembers
from plugins.matrix.sync_loop import RawEvent

ENCRYPTION_TYPE = "m.room.encryption"
AVATAR_TYPE = "m.room.avatar"


def after_own_join(timeline: Sequence[RawEvent], own_user_id: str) -> Sequence[RawEvent]:
    """The timeline from the user's own arrival on, when it arrived in this batch.

    A room the user just joined comes with what was said before: history, not news.
    """
    for index in range(len(timeline) - 1, -1, -1):
        event = timeline[index]
        content = event.get("content")
        unsigned = event.get("unsigned")
        previous = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
        if (
            event.get("type") == "m.room.member"
            and event.get("state_key") == own_user_id
            and isinstance(content, dict)
            and content.get("membership") == "join"
            and not (isinstance(previous, dict) and previous.get("membership") == "join")
        ):
            return timeline[index:]
    return timeline


def topic_of(state: Iterable[Any], members: RoomMembers) -> tuple[str, str | None]:
    for event in state:
        if isinstance(event, dict) and event.get("type") == "m.room.topic":
            content = event.get("content")
            topic = content.get("topic") if isinstance(content, dict) else None
            sender = event.get("sender")
            if isinstance(topic, str):
                return topic, members.nick_of(sender) if isinstance(sender, str) else None
    return "", None


def announces_encryption(events: Iterable[RawEvent]) -> bool:
    return any(event.get("type") == ENCRYPTION_TYPE for event in events)


def state_text(state: Iterable[RawEvent], kind: str, key: str) -> str | None:
    """The text *key* of the *kind* state event in *state*, when there is one."""
    for event in state:
        content = event.get("content")
        if event.get("type") == kind and isinstance(content, dict):
            value = content.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def avatar_ref(content: Mapping[str, Any]) -> str | None:
    """The ref of an ``m.room.avatar`` content's picture, read as a thumbnail; None when
    the picture was removed."""
    url = content.get("url")
    return thumbnail_ref(url) if isinstance(url, str) and url.startswith("mxc://") else None


def avatar_in(state: Iterable[RawEvent]) -> str | None:
    """The room's picture in its current *state*, when it has one."""
    for event in state:
        content = event.get("content")
        if event.get("type") == AVATAR_TYPE and isinstance(content, Mapping):
            return avatar_ref(content)
    return None
