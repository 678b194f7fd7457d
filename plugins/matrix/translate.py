"""Matrix events (dicts as ``/sync`` returns them) → the core's legacy events.

Any homeserver, client or bridge may put anything in an event, so nothing here trusts a
field's presence or type and nothing raises: an event that shows nothing to an XMPP user
comes back as a :class:`Translation` with no events and the reason, for the debug log.
Membership and power levels update the room's :class:`RoomMembers` as they are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import (
    Attachment,
    Displayed,
    Kicked,
    LegacyEvent,
    MessageIn,
    NickChanged,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    Reaction,
    Retraction,
    RoomAvatar,
    RoomLeft,
    SubjectChanged,
    Typing,
)
from plugins.matrix.formatting import HTML_FORMAT, html_to_styled, strip_reply_fallback
from plugins.matrix.members import NickMove, RoomMembers, clean_display_name
from plugins.matrix.reactions import Annotation, RelationBook
from plugins.matrix.room_state import AVATAR_TYPE, avatar_ref

MAX_BODY_BYTES = 64_000
CUT_MARKER = " [… message cut]"
UNREADABLE = "(an encrypted message you cannot read here)"
ENCRYPTED_ROOM = (
    "This room is end-to-end encrypted; the gateway cannot read or send its messages,"
    " so you will not see them here."
)
MEDIA_MSGTYPES = frozenset({"m.image", "m.file", "m.audio", "m.video"})

Fields = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class RoomContext:
    """What translating one room's events needs to know.

    *direct* is the contact of a direct chat: its messages come from them, not from a room.
    *book* remembers the room's reactions and authors across its events.
    """

    room: RoomAddress
    own_user_id: str
    members: RoomMembers = field(default_factory=RoomMembers)
    direct: ContactAddress | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    book: RelationBook = field(default_factory=RelationBook)

    @property
    def source(self) -> RoomAddress | ContactAddress:
        return self.direct or self.room

    def nick(self, user_id: str) -> str | None:
        """Who *user_id* is to the core here: a nick in a room, nobody in a direct chat."""
        return None if self.direct else self.members.nick_of(user_id)


@dataclass(frozen=True, slots=True)
class Translation:
    """The events one Matrix event stands for; when none, *skipped* says why."""

    events: tuple[LegacyEvent, ...] = ()
    skipped: str = ""


def _skip(reason: str) -> Translation:
    return Translation(skipped=reason)


@dataclass(frozen=True, slots=True)
class _Event:
    """The fields of a Matrix event, each checked for its type."""

    kind: str
    sender: str
    content: Fields
    unsigned: Fields
    event_id: str | None
    state_key: str | None
    when: datetime | None
    redacts: str | None

    @classmethod
    def read(cls, raw: object) -> _Event | str:
        """The event, or why it cannot be one."""
        if not isinstance(raw, Mapping):
            return "not an event object"
        kind, sender = raw.get("type"), raw.get("sender")
        if not isinstance(kind, str) or not kind:
            return "event without a type"
        if not isinstance(sender, str) or not sender:
            return f"{kind} without a sender"
        return cls(
            kind=kind,
            sender=sender,
            content=_mapping(raw.get("content")),
            unsigned=_mapping(raw.get("unsigned")),
            event_id=_text(raw.get("event_id")),
            state_key=_text(raw.get("state_key")),
            # Room versions before 11 put `redacts` beside the content, later ones inside it.
            redacts=_text(raw.get("redacts")) or _text(_mapping(raw.get("content")).get("redacts")),
            when=_timestamp(raw.get("origin_server_ts")),
        )


def _mapping(value: object) -> Fields:
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return value
    return {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def cut_body(text: str, max_bytes: int) -> str:
    """*text* within *max_bytes* of UTF-8, ending with a marker when it had to be cut."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    room = max(max_bytes - len(CUT_MARKER.encode()), 0)
    return encoded[:room].decode(errors="ignore") + CUT_MARKER


# ----------------------------------------------------------------------------- entry points


def translate(raw: object, context: RoomContext) -> Translation:
    """The legacy events for one timeline or state event of *context*'s room."""
    event = _Event.read(raw)
    if isinstance(event, str):
        return _skip(event)
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return _skip(f"{event.kind}: nothing an XMPP user is shown")
    return handler(event, context)


def absorb_state(events: Iterable[object], members: RoomMembers) -> None:
    """Take a room's current state (members, power levels) without reporting any change."""
    for raw in events:
        event = _Event.read(raw)
        if isinstance(event, str):
            continue
        if event.kind == "m.room.member" and event.state_key:
            membership = event.content.get("membership")
            name = clean_display_name(event.content.get("displayname"))
            members.set_membership(event.state_key, name, joined=membership == "join")
        elif event.kind == "m.room.power_levels":
            members.set_power_levels(event.content)


def translate_typing(
    raw: object, typing_before: frozenset[str], context: RoomContext
) -> tuple[Translation, frozenset[str]]:
    """Typing starts and stops from an ``m.typing`` event; also who types now."""
    event = _mapping(raw)
    user_ids = _mapping(event.get("content")).get("user_ids")
    if event.get("type") != "m.typing" or not isinstance(user_ids, list):
        return _skip("not an m.typing event with user_ids"), typing_before
    typing_now = frozenset(
        user for user in user_ids if isinstance(user, str) and user != context.own_user_id
    )
    changes = [(user, True) for user in sorted(typing_now - typing_before)]
    changes += [(user, False) for user in sorted(typing_before - typing_now)]
    events: list[LegacyEvent] = []
    for user, active in changes:
        if context.direct is not None:
            events.append(Typing(context.direct, None, active))
        else:
            events.append(Typing(context.room, context.members.nick_of(user), active))
    translation = Translation(tuple(events)) if events else _skip("nobody started or stopped")
    return translation, typing_now


# ----------------------------------------------------------------------------- messages


def _message(event: _Event, context: RoomContext) -> Translation:
    if "redacted_because" in event.unsigned or not event.content:
        return _skip("redacted message")
    relates_to = _mapping(event.content.get("m.relates_to"))
    replaces = (
        _text(relates_to.get("event_id")) if relates_to.get("rel_type") == "m.replace" else None
    )
    content = _mapping(event.content.get("m.new_content")) if replaces else event.content
    if replaces is not None and context.book.author_of(replaces) not in (None, event.sender):
        return _skip("an edit of someone else's message")
    if event.event_id is not None and replaces is None:
        context.book.add_author(event.event_id, event.sender)
    body = _text(content.get("body"))
    if body is None:
        return _skip(f"{event.kind} without a text body")
    msgtype = _text(content.get("msgtype"))
    attachment = _attachment(event.kind, msgtype, content, body)
    text = _caption(content, body) if attachment else _readable_text(content, body)
    if msgtype == "m.location":
        text = "\n".join(filter(None, (text, _text(content.get("geo_uri")))))
    if not text.strip() and attachment is None:
        return _skip("empty message")
    own = event.sender == context.own_user_id
    transaction = _text(event.unsigned.get("transaction_id")) if own else None
    message = MessageIn(
        source=context.source,
        body=cut_body(text, context.max_body_bytes),
        nick=context.nick(event.sender),
        legacy_id=event.event_id,
        when=event.when,
        action=msgtype == "m.emote",
        notice=msgtype == "m.notice",
        own=own,
        echo_of=transaction,
        replaces=replaces,
        reply_to=_text(_mapping(relates_to.get("m.in_reply_to")).get("event_id")),
        attachments=(attachment,) if attachment else (),
    )
    return Translation((message,))


def _readable_text(content: Fields, body: str) -> str:
    """The styled text of a message: its HTML when it has some, else its plain body."""
    relates_to = _mapping(content.get("m.relates_to"))
    formatted = _text(content.get("formatted_body"))
    if content.get("format") == HTML_FORMAT and formatted is not None:
        styled = html_to_styled(formatted)
        if styled.strip():
            return styled
    if "m.in_reply_to" in relates_to:
        return strip_reply_fallback(body)
    return body


def _attachment(kind: str, msgtype: str | None, content: Fields, body: str) -> Attachment | None:
    """The file, image, sound, video or sticker the event carries, by its ``mxc://`` URI.

    Encrypted media (their URI inside ``file``) cannot be opened here: only the name shows.
    """
    if kind != "m.sticker" and msgtype not in MEDIA_MSGTYPES:
        return None
    url = _text(content.get("url"))
    if url is None or not url.startswith("mxc://"):
        return None
    info = _mapping(content.get("info"))
    size = info.get("size")
    return Attachment(
        ref=url,
        name=_text(content.get("filename")) or body,
        media_type=_text(info.get("mimetype")) or "",
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
    )


def _caption(content: Fields, body: str) -> str:
    """A media event's caption: its body is one only when a separate ``filename`` is given."""
    filename = _text(content.get("filename"))
    return _readable_text(content, body) if filename and filename != body else ""


# ----------------------------------------------------------------------------- relations


def _reaction(event: _Event, context: RoomContext) -> Translation:
    relates_to = _mapping(event.content.get("m.relates_to"))
    target, key = _text(relates_to.get("event_id")), _text(relates_to.get("key"))
    if relates_to.get("rel_type") != "m.annotation" or not target or not key:
        return _skip("m.reaction without an annotation of an event")
    if event.event_id is None:
        return _skip("m.reaction without an event id")
    if context.book.has_annotation(event.event_id):
        return _skip("a reaction the gateway sent and already reported")
    context.book.add_annotation(event.event_id, Annotation(target, event.sender, key))
    return Translation((_reaction_set(context, target, event.sender),))


def _reaction_set(context: RoomContext, target: str, sender: str) -> Reaction:
    """*sender*'s whole set of reactions to *target*, as XEP-0444 sends it."""
    keys = context.book.keys(target, sender)
    own = sender == context.own_user_id
    return Reaction(context.source, context.nick(sender), target, keys, own=own)


def _redaction(event: _Event, context: RoomContext) -> Translation:
    if not event.redacts:
        return _skip("m.room.redaction of no event")
    annotation = context.book.remove_annotation(event.redacts)
    if annotation is not None:
        return Translation((_reaction_set(context, annotation.target, annotation.sender),))
    author = context.book.author_of(event.redacts) or event.sender
    moderator = None if author == event.sender else context.members.nick_of(event.sender)
    reason = _text(event.content.get("reason")) or ""
    retraction = Retraction(context.source, context.nick(author), event.redacts, moderator, reason)
    return Translation((retraction,))


def translate_receipts(raw: object, context: RoomContext) -> Translation:
    """Read markers (XEP-0333 displayed) from an ``m.receipt`` event, others' only."""
    event = _mapping(raw)
    if event.get("type") != "m.receipt":
        return _skip("not an m.receipt event")
    events: list[LegacyEvent] = []
    for event_id, receipts in _mapping(event.get("content")).items():
        for user_id in _mapping(_mapping(receipts).get("m.read")):
            if user_id != context.own_user_id:
                events.append(Displayed(context.source, context.nick(user_id), event_id))
    return Translation(tuple(events)) if events else _skip("no read receipt of anyone else")


# ----------------------------------------------------------------------------- encryption


def encryption_notice(context: RoomContext) -> MessageIn:
    """Why an end-to-end encrypted room stays silent here, said once in it."""
    return MessageIn(context.source, ENCRYPTED_ROOM, notice=True)


def _encrypted(event: _Event, context: RoomContext) -> Translation:
    notice = MessageIn(
        context.source,
        UNREADABLE,
        nick=context.nick(event.sender),
        legacy_id=event.event_id,
        when=event.when,
        notice=True,
        own=event.sender == context.own_user_id,
    )
    return Translation((notice,))


# ----------------------------------------------------------------------------- room state


def _member(event: _Event, context: RoomContext) -> Translation:
    user = event.state_key
    membership = _text(event.content.get("membership"))
    if not user or membership is None:
        return _skip("m.room.member without a state_key or membership")
    members = context.members
    was_joined = members.is_joined(user)
    actor = members.nick_of(event.sender)
    reason = _text(event.content.get("reason")) or ""
    if membership == "join":
        name = clean_display_name(event.content.get("displayname"))
        moves = members.set_membership(user, name, joined=True)
    elif membership in ("leave", "ban"):
        moves = members.set_membership(user, None, joined=False)
        if not was_joined:
            return _skip(f"{membership} of {user}, who was not in the room")
    else:
        return _skip(f"{membership} of {user}: not an occupant (yet)")
    if context.direct is not None:
        return _skip("membership of a direct chat: it has no occupants")
    if not moves:
        return _skip(f"{user} changed nothing but their profile")
    removed_by_other = event.sender != user or membership == "ban"

    def departure(nick: str) -> LegacyEvent:
        if removed_by_other:
            return Kicked(context.room, nick, actor, reason)
        if user == context.own_user_id:
            return RoomLeft(context.room, reason)
        return OccupantLeft(context.room, nick, reason)

    events = _move_events(moves, context, departure)
    return Translation(events) if events else _skip("the user's own join: RoomJoined says it")


def _move_events(
    moves: list[NickMove], context: RoomContext, departure: Callable[[str], LegacyEvent]
) -> tuple[LegacyEvent, ...]:
    events: list[LegacyEvent] = []
    for move in moves:
        if move.new is None and move.old is not None:
            events.append(departure(move.old))
        elif move.old is None:
            # The session reports the user's own arrival, with everyone in it, as RoomJoined.
            if move.user_id != context.own_user_id:
                events.append(OccupantJoined(context.room, context.members.occupant(move.user_id)))
        elif move.new is not None:
            events.append(NickChanged(context.room, move.old, move.new))
    return tuple(events)


def _topic(event: _Event, context: RoomContext) -> Translation:
    if context.direct is not None:
        return _skip("topic of a direct chat")
    topic = _text(event.content.get("topic")) or ""
    by = context.members.nick_of(event.sender)
    return Translation((SubjectChanged(context.room, topic, by),))


def _power_levels(event: _Event, context: RoomContext) -> Translation:
    moved = context.members.set_power_levels(event.content)
    if context.direct is not None or not moved:
        return _skip("no occupant's role or affiliation changed")
    actor = context.members.nick_of(event.sender)
    return Translation(
        tuple(
            OccupantChanged(context.room, context.members.occupant(user), actor) for user in moved
        )
    )


def _room_name(event: _Event, context: RoomContext) -> Translation:
    """A notice: the MUC subject is the Matrix topic, so the name cannot take its place."""
    if context.direct is not None:
        return _skip("name of a direct chat")
    name = clean_display_name(event.content.get("name"))
    who = context.members.nick_of(event.sender)
    text = f"{who} named the room “{name}”" if name else f"{who} removed the room's name"
    notice = MessageIn(context.room, text, legacy_id=event.event_id, when=event.when, notice=True)
    return Translation((notice,))


def _room_avatar(event: _Event, context: RoomContext) -> Translation:
    if context.direct is not None:
        return _skip("picture of a direct chat")
    return Translation((RoomAvatar(context.room, avatar_ref(event.content)),))


_HANDLERS: dict[str, Callable[[_Event, RoomContext], Translation]] = {
    "m.room.message": _message,
    "m.sticker": _message,
    "m.room.member": _member,
    "m.room.topic": _topic,
    "m.room.power_levels": _power_levels,
    "m.room.name": _room_name,
    AVATAR_TYPE: _room_avatar,
    "m.room.encrypted": _encrypted,
    "m.reaction": _reaction,
    "m.room.redaction": _redaction,
}
