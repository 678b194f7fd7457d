"""The user's actions on a Matrix room once it is known: messages with their relations,
reactions, removals, read markers, kicks, bans, invitations, power levels, topic and name.

Each raises the bridge.errors exception the core shows the user when the homeserver
refuses. Ids here are Matrix event ids (the core's legacy ids).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from nio import ErrorResponse, RoomGetStateEventResponse, RoomSendResponse

from bridge.errors import BadRequest, Forbidden, LegacyError, NotSupported, RateLimited
from bridge.events import (
    Affiliation,
    React,
    RenameRoom,
    Role,
    SendMessage,
    SetOccupantPower,
    SetSubject,
)
from plugins.matrix.formatting import HTML_FORMAT
from plugins.matrix.media import SharedFile
from plugins.matrix.members import ADMIN_LEVEL, OWNER_LEVEL, level_of
from plugins.matrix.mentions import with_mentions
from plugins.matrix.reactions import Annotation, RelationBook

EDIT_FALLBACK = "* "
POWER_LEVELS = "m.room.power_levels"
NOBODY: Mapping[str, str] = MappingProxyType({})
_AFFILIATION_LEVELS = {
    Affiliation.OWNER: OWNER_LEVEL,
    Affiliation.ADMIN: ADMIN_LEVEL,
    Affiliation.MEMBER: 0,
    Affiliation.NONE: 0,
}
_ROLE_LEVELS = {Role.MODERATOR: ADMIN_LEVEL, Role.PARTICIPANT: 0}


def failure(answer: Any, what: str, missing: type[LegacyError] = BadRequest) -> LegacyError:
    """The domain error for a nio error response."""
    code, text = str(getattr(answer, "status_code", "")), str(getattr(answer, "message", ""))
    detail = f"{what}: {text or code} ({code})"
    if code == "M_FORBIDDEN":
        return Forbidden(detail)
    if code == "M_LIMIT_EXCEEDED":
        return RateLimited(detail)
    return missing(detail)


def message_content(action: SendMessage, members: Mapping[str, str] = NOBODY) -> dict[str, Any]:
    """The ``m.room.message`` content for *action*: styled, mentioning the *members* (user
    ids by nick) it addresses, an edit or a reply when it is one."""
    text = with_mentions(action.body, members)
    content: dict[str, Any] = {
        "msgtype": "m.emote" if action.action else "m.text",
        "body": text.body,
    }
    if text.formatted_body is not None:
        content |= {"format": HTML_FORMAT, "formatted_body": text.formatted_body}
    # Always, even empty: Matrix 1.7 intentional mentions (docs/decisions.md).
    content["m.mentions"] = {"user_ids": list(text.user_ids)} if text.user_ids else {}
    if action.replaces is not None:
        fallback = {"body": EDIT_FALLBACK + text.body}
        if text.formatted_body is not None:
            fallback["formatted_body"] = EDIT_FALLBACK + text.formatted_body
        relation = {"rel_type": "m.replace", "event_id": action.replaces}
        # The edit itself notifies nobody again; its new content keeps the mentions.
        quiet: dict[str, Any] = {"m.mentions": {}}
        return content | fallback | quiet | {"m.new_content": content, "m.relates_to": relation}
    if action.reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": action.reply_to}}
    return content


def file_content(
    action: SendMessage, file: SharedFile, members: Mapping[str, str] = NOBODY
) -> dict[str, Any]:
    """The event showing *file*, with the message's text as its caption (Matrix 1.10:
    a ``body`` beside a different ``filename``); a file is never an edit."""
    caption = message_content(dataclasses.replace(action, replaces=None), members)
    content = caption | file.content()
    if action.body.strip():
        content["body"] = caption["body"]
    return content


async def send_message(
    client: Any,
    room_id: str,
    action: SendMessage,
    tx_id: str,
    files: Sequence[SharedFile] = (),
    members: Mapping[str, str] = NOBODY,
) -> str:
    """Send *action* to *room_id*, one event per file (the last one captioned with the
    text, and carrying *tx_id* for the echo), mentioning the *members* (user ids by nick)
    it addresses; the event id of the last one."""
    contents = [file_content(dataclasses.replace(action, body=""), f) for f in files[:-1]]
    last = file_content(action, files[-1], members) if files else message_content(action, members)
    tx_ids = [f"{tx_id}.{index}" for index in range(len(contents))]
    event_id = ""
    for content, transaction in zip([*contents, last], [*tx_ids, tx_id], strict=True):
        answer = await client.room_send(room_id, "m.room.message", content, transaction)
        if not isinstance(answer, RoomSendResponse):
            raise failure(answer, "The message was not sent")
        event_id = str(answer.event_id)
    return event_id


async def react(client: Any, room_id: str, book: RelationBook, own: str, action: React) -> None:
    """Make the user's reactions to the message exactly *action.emojis*.

    Matrix has one event per reaction: the missing ones are sent, the dropped ones redacted.
    """
    current = book.events_of(action.legacy_id, own)
    for event_id, key in current.items():
        if key not in action.emojis:
            answer = await client.room_redact(room_id, event_id)
            if isinstance(answer, ErrorResponse):
                raise failure(answer, f"Could not take back {key}")
            book.remove_annotation(event_id)
    for key in action.emojis:
        if key in current.values():
            continue
        relation = {"rel_type": "m.annotation", "event_id": action.legacy_id, "key": key}
        sent = await client.room_send(room_id, "m.reaction", {"m.relates_to": relation})
        if not isinstance(sent, RoomSendResponse):
            raise failure(sent, f"Could not react with {key}")
        book.add_annotation(str(sent.event_id), Annotation(action.legacy_id, own, key))


async def retract(client: Any, room_id: str, event_id: str) -> None:
    answer = await client.room_redact(room_id, event_id)
    if isinstance(answer, ErrorResponse):
        raise failure(answer, "The message was not removed")


async def mark_displayed(client: Any, room_id: str, event_id: str) -> None:
    """The user's read marker and a public ``m.read`` receipt at *event_id*."""
    answer = await client.room_read_markers(room_id, event_id, event_id)
    if isinstance(answer, ErrorResponse):
        raise failure(answer, "The read marker was not set")


async def kick(client: Any, room_id: str, user_id: str, nick: str, reason: str) -> None:
    answer = await client.room_kick(room_id, user_id, reason or None)
    if isinstance(answer, ErrorResponse):
        raise failure(answer, f"Could not kick {nick}")


async def invite(client: Any, room_id: str, user_id: str) -> None:
    """Invite *user_id*; the client library's call carries no reason, so none is sent."""
    answer = await client.room_invite(room_id, user_id)
    if isinstance(answer, ErrorResponse):
        raise failure(answer, f"Could not invite {user_id}")


async def describe_room(client: Any, room_id: str, action: SetSubject | RenameRoom) -> None:
    """The room's topic (``m.room.topic``) or name (``m.room.name``) state."""
    if isinstance(action, SetSubject):
        event_type, content, what = "m.room.topic", {"topic": action.subject}, "topic"
    else:
        event_type, content, what = "m.room.name", {"name": action.name}, "name"
    answer = await client.room_put_state(room_id, event_type, content)
    if isinstance(answer, ErrorResponse):
        raise failure(answer, f"The {what} was not changed")


async def set_power(client: Any, room_id: str, user_id: str, action: SetOccupantPower) -> None:
    """An affiliation or role as a power level (owner 100, admin or moderator 50, else 0);
    outcast is a ban."""
    if action.affiliation is Affiliation.OUTCAST:
        answer = await client.room_ban(room_id, user_id)
        if isinstance(answer, ErrorResponse):
            raise failure(answer, f"Could not ban {action.nick}")
        return
    if action.affiliation is not None:
        level = _AFFILIATION_LEVELS[action.affiliation]
    elif action.role in _ROLE_LEVELS:
        level = _ROLE_LEVELS[action.role]
    else:
        raise NotSupported(
            f"Matrix has no {action.role} role: a member either may speak or is removed."
        )
    state = await client.room_get_state_event(room_id, POWER_LEVELS)
    if not isinstance(state, RoomGetStateEventResponse):
        raise failure(state, "Could not read the room's power levels")
    content = dict(state.content)
    users = content.get("users")
    users = (
        {k: v for k, v in users.items() if level_of(v) is not None}
        if isinstance(users, dict)
        else {}
    )
    users[user_id] = level
    answer = await client.room_put_state(room_id, POWER_LEVELS, content | {"users": users})
    if isinstance(answer, ErrorResponse):
        raise failure(answer, f"Could not change the power of {action.nick}")
