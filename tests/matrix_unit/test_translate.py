"""Matrix events → core events: what an XMPP user sees of a Matrix room, and what never breaks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import (
    Affiliation,
    Attachment,
    Kicked,
    MessageIn,
    NickChanged,
    Occupant,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    Role,
    RoomAvatar,
    RoomLeft,
    SubjectChanged,
    Typing,
)
from plugins.matrix.members import RoomMembers, clean_display_name, power_of
from plugins.matrix.translate import (
    CUT_MARKER,
    RoomContext,
    Translation,
    absorb_state,
    cut_body,
    translate,
    translate_typing,
)

ROOM = RoomAddress("", "!Room")
ME = "@me:s.org"
ALICE = "@alice:s.org"
BOB = "@bob:s.org"
TS = 1_700_000_000_000


def message(sender: str = ALICE, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": sender,
        "event_id": "$e1",
        "origin_server_ts": TS,
        "content": {"msgtype": "m.text", "body": "hello"} | content,
    }


def member(user: str, membership: str, sender: str | None = None, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "sender": sender or user,
        "state_key": user,
        "content": {"membership": membership} | content,
    }


def context_with(*joined: tuple[str, str | None]) -> RoomContext:
    members = RoomMembers()
    absorb_state([member(user, "join", displayname=name) for user, name in joined], members)
    return RoomContext(ROOM, ME, members)


def only(translation: Translation) -> object:
    assert len(translation.events) == 1, translation
    return translation.events[0]


def only_message(translation: Translation) -> MessageIn:
    event = only(translation)
    assert isinstance(event, MessageIn), event
    return event


# ----------------------------------------------------------------------------- messages


def test_text_message_from_a_member() -> None:
    context = context_with((ALICE, "Alice"))
    assert only(translate(message(), context)) == MessageIn(
        source=ROOM,
        body="hello",
        nick="Alice",
        legacy_id="$e1",
        when=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("msgtype", "action", "notice"), [("m.emote", True, False), ("m.notice", False, True)]
)
def test_emotes_are_actions_and_notices_are_notices(
    msgtype: str, action: bool, notice: bool
) -> None:
    event = only(translate(message(msgtype=msgtype), context_with()))
    assert isinstance(event, MessageIn)
    assert (event.action, event.notice) == (action, notice)


def test_html_body_is_shown_with_styling_and_without_reply_fallback() -> None:
    content: dict[str, Any] = {
        "format": "org.matrix.custom.html",
        "formatted_body": "<mx-reply><blockquote>old</blockquote></mx-reply><b>new</b>",
        "body": "> <@bob:s.org> old\n\nnew",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$old"}},
    }
    assert translate(message(**content), context_with()).events[0] == MessageIn(
        ROOM,
        "*new*",
        nick=ALICE,
        legacy_id="$e1",
        when=datetime.fromtimestamp(TS / 1000, UTC),
        reply_to="$old",
    )
    del content["formatted_body"]
    event = only(translate(message(**content), context_with()))
    assert isinstance(event, MessageIn) and event.body == "new"


@pytest.mark.parametrize("msgtype", ["m.image", "m.file", "m.audio", "m.video"])
def test_media_arrive_as_attachments_with_name_type_and_size(msgtype: str) -> None:
    info = {"mimetype": "image/png", "size": 1234}
    plain = message(msgtype=msgtype, body="cat.png", url="mxc://s.org/abc", info=info)
    event = only_message(translate(plain, context_with()))
    assert event.body == ""
    assert event.attachments == (Attachment("mxc://s.org/abc", "cat.png", "image/png", 1234),)
    captioned = message(msgtype=msgtype, body="my cat", filename="cat.png", url="mxc://s.org/c")
    event = only_message(translate(captioned, context_with()))
    assert event.body == "my cat"
    assert event.attachments == (Attachment("mxc://s.org/c", "cat.png"),)


def test_media_that_cannot_be_opened_show_their_name() -> None:
    encrypted = message(msgtype="m.file", body="x.pdf", file={"url": "mxc://s.org/enc"})
    event = only_message(translate(encrypted, context_with()))
    assert (event.body, event.attachments) == ("x.pdf", ())
    odd = message(msgtype="m.image", body="y.png", url="https://elsewhere/y.png", info={"size": -1})
    assert only_message(translate(odd, context_with())).attachments == ()


def test_sticker_and_location_and_unknown_msgtype() -> None:
    sticker = message(body="wave", url="mxc://s/st") | {"type": "m.sticker"}
    event = only_message(translate(sticker, context_with()))
    assert (event.body, event.attachments) == ("", (Attachment("mxc://s/st", "wave"),))
    location = message(msgtype="m.location", body="Here", geo_uri="geo:1,2")
    event = only_message(translate(location, context_with()))
    assert event.body == "Here\ngeo:1,2"
    unknown = message(msgtype="org.example.poll", body="Poll: yes or no?")
    event = only_message(translate(unknown, context_with()))
    assert event.body == "Poll: yes or no?"


def test_own_message_from_another_client_and_echo_of_ours() -> None:
    event = only(translate(message(sender=ME), context_with()))
    assert isinstance(event, MessageIn) and event.own and event.echo_of is None
    echoed = message(sender=ME) | {"unsigned": {"transaction_id": "xmpp-id-1"}}
    event = only(translate(echoed, context_with()))
    assert isinstance(event, MessageIn) and event.echo_of == "xmpp-id-1"
    others = message() | {"unsigned": {"transaction_id": "not-ours"}}
    event = only(translate(others, context_with()))
    assert isinstance(event, MessageIn) and not event.own and event.echo_of is None


def test_direct_chat_messages_come_from_the_contact() -> None:
    contact = ContactAddress("s.org", "alice")
    context = RoomContext(ROOM, ME, direct=contact)
    event = only(translate(message(), context))
    assert isinstance(event, MessageIn) and (event.source, event.nick) == (contact, None)


def test_huge_bodies_are_cut_with_a_marker() -> None:
    context = RoomContext(ROOM, ME, max_body_bytes=1000)
    event = only(translate(message(body="é" * 5000), context))
    assert isinstance(event, MessageIn)
    assert event.body.endswith(CUT_MARKER) and len(event.body.encode()) <= 1000
    assert cut_body("short", 1000) == "short"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (message() | {"unsigned": {"redacted_because": {}}, "content": {}}, "redacted"),
        (message() | {"content": {}}, "redacted"),
        (message(body=None), "without a text body"),
        (message(body="   "), "empty"),
        ({"type": "m.room.message", "content": {"body": "x"}}, "without a sender"),
        ({"sender": ALICE}, "without a type"),
        ("not a dict", "not an event"),
        ({"type": "org.example.thing", "sender": ALICE}, "nothing an XMPP user"),
    ],
)
def test_events_that_show_nothing_say_why(event: object, reason: str) -> None:
    translation = translate(event, context_with())
    assert translation.events == () and reason in translation.skipped


def test_malformed_fields_are_tolerated() -> None:
    odd = message() | {"origin_server_ts": "yesterday", "event_id": 7, "unsigned": [1]}
    translated = only_message(translate(odd, context_with()))
    assert (translated.when, translated.legacy_id, translated.body) == (None, None, "hello")
    huge_ts = message() | {"origin_server_ts": 10**30}
    assert only_message(translate(huge_ts, context_with())).when is None


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
_KEYS = st.sampled_from(
    ["type", "sender", "content", "state_key", "unsigned", "origin_server_ts", "event_id"]
)
_TYPES = st.sampled_from(
    ["m.room.message", "m.room.member", "m.room.topic", "m.room.power_levels", "m.sticker"]
)


@given(
    st.dictionaries(_KEYS, _JSONISH),
    _TYPES,
    st.dictionaries(
        st.sampled_from(
            [
                "membership",
                "body",
                "msgtype",
                "users",
                "topic",
                "displayname",
                "url",
                "format",
                "formatted_body",
            ]
        ),
        _JSONISH,
    ),
)
def test_arbitrary_events_never_raise(
    event: dict[str, Any], kind: str, content: dict[str, Any]
) -> None:
    for candidate in (
        event,
        event | {"type": kind, "sender": ALICE, "content": content, "state_key": BOB},
    ):
        assert isinstance(translate(candidate, context_with((ALICE, "Alice"))), Translation)


# ----------------------------------------------------------------------------- members


def test_join_leave_kick_and_ban() -> None:
    context = context_with((ALICE, "Alice"))
    joined = only(translate(member(BOB, "join", displayname="Bob"), context))
    assert joined == OccupantJoined(ROOM, Occupant("Bob", contact=ContactAddress("s.org", "bob")))
    assert only(translate(member(BOB, "leave", reason="bye"), context)) == OccupantLeft(
        ROOM, "Bob", "bye"
    )
    translate(member(BOB, "join", displayname="Bob"), context)
    kick = member(BOB, "leave", sender=ALICE, reason="spam")
    assert only(translate(kick, context)) == Kicked(ROOM, "Bob", "Alice", "spam")
    translate(member(BOB, "join", displayname="Bob"), context)
    assert only(translate(member(BOB, "ban", sender=ALICE), context)) == Kicked(
        ROOM, "Bob", "Alice", ""
    )
    assert translate(member(BOB, "ban", sender=ALICE), context).skipped


def test_invites_and_knocks_are_not_occupants() -> None:
    context = context_with()
    assert "not an occupant" in translate(member(BOB, "invite", sender=ALICE), context).skipped
    assert "not in the room" in translate(member(BOB, "leave"), context).skipped


def test_own_membership() -> None:
    context = context_with((ALICE, "Alice"))
    assert "own join" in translate(member(ME, "join", displayname="Me"), context).skipped
    assert only(translate(member(ME, "leave", reason="elsewhere"), context)) == RoomLeft(
        ROOM, "elsewhere"
    )
    translate(member(ME, "join", displayname="Me"), context)
    assert only(translate(member(ME, "leave", sender=ALICE), context)) == Kicked(
        ROOM, "Me", "Alice"
    )


def test_display_name_change_is_a_nick_change() -> None:
    context = context_with((ALICE, "Alice"))
    renamed = member(ALICE, "join", displayname="Alicia")
    assert only(translate(renamed, context)) == NickChanged(ROOM, "Alice", "Alicia")
    avatar = member(ALICE, "join", displayname="Alicia", avatar_url="mxc://s/new")
    assert "profile" in translate(avatar, context).skipped
    assert only(translate(member(ALICE, "join"), context)) == NickChanged(ROOM, "Alicia", ALICE)


def test_shared_display_names_are_disambiguated_both_ways() -> None:
    context = context_with((ALICE, "Alice"))
    arrival = translate(member(BOB, "join", displayname="Alice"), context)
    assert arrival.events == (
        NickChanged(ROOM, "Alice", "Alice (@alice:s.org)"),
        OccupantJoined(
            ROOM, Occupant("Alice (@bob:s.org)", contact=ContactAddress("s.org", "bob"))
        ),
    )
    departure = translate(member(BOB, "leave"), context)
    assert departure.events == (
        OccupantLeft(ROOM, "Alice (@bob:s.org)"),
        NickChanged(ROOM, "Alice (@alice:s.org)", "Alice"),
    )


def test_a_rename_frees_a_shared_name_for_the_other_member() -> None:
    context = context_with((ALICE, "Al"), (BOB, "Al"))
    moves = translate(member(ALICE, "join", displayname="Other"), context).events
    assert set(moves) == {
        NickChanged(ROOM, "Al (@alice:s.org)", "Other"),
        NickChanged(ROOM, "Al (@bob:s.org)", "Al"),
    }
    back = translate(member(ALICE, "join", displayname="Al"), context).events
    assert set(back) == {
        NickChanged(ROOM, "Al", "Al (@bob:s.org)"),
        NickChanged(ROOM, "Other", "Al (@alice:s.org)"),
    }


@pytest.mark.parametrize("impostor", ["@alice:s.org", "Alice (@alice:s.org)"])
def test_nobody_can_take_anothers_nick(impostor: str) -> None:
    context = context_with((ALICE, None), (BOB, "Alice"), ("@carol:s.org", "Alice"))
    event = only(translate(member("@mallory:s.org", "join", displayname=impostor), context))
    assert isinstance(event, OccupantJoined)
    nicks = [occupant.nick for occupant in context.members.occupants()]
    assert len(set(nicks)) == len(nicks) == 4


def test_display_names_are_cleaned() -> None:
    assert clean_display_name(" A\x00li\nce  ") == "A li ce"
    assert clean_display_name(" \t") is None
    assert clean_display_name(5) is None
    assert clean_display_name("x" * 500) == "x" * 100


# ----------------------------------------------------------------------------- power, topic, typing


@pytest.mark.parametrize(
    ("level", "role", "affiliation"),
    [
        (100, Role.MODERATOR, Affiliation.OWNER),
        (150, Role.MODERATOR, Affiliation.OWNER),
        (50, Role.MODERATOR, Affiliation.ADMIN),
        (1, Role.PARTICIPANT, Affiliation.MEMBER),
        (0, Role.PARTICIPANT, Affiliation.NONE),
        (-5, Role.PARTICIPANT, Affiliation.NONE),
    ],
)
def test_power_levels_map_to_roles(level: int, role: Role, affiliation: Affiliation) -> None:
    assert power_of(level) == (role, affiliation)


def test_power_level_changes_reach_the_occupants_they_change() -> None:
    context = context_with((ALICE, "Alice"), (BOB, "Bob"))
    levels: dict[str, Any] = {
        "type": "m.room.power_levels",
        "sender": ALICE,
        "content": {"users": {ALICE: 100, BOB: 50, "@gone:s.org": 50, 7: 1, ME: True}},
    }
    translation = translate(levels, context)
    assert set(translation.events) == {
        OccupantChanged(
            ROOM,
            Occupant("Alice", Role.MODERATOR, Affiliation.OWNER, ContactAddress("s.org", "alice")),
            "Alice",
        ),
        OccupantChanged(
            ROOM,
            Occupant("Bob", Role.MODERATOR, Affiliation.ADMIN, ContactAddress("s.org", "bob")),
            "Alice",
        ),
    }
    levels["content"]["users"][BOB] = 75
    assert "no occupant" in translate(levels, context).skipped
    default = {"type": "m.room.power_levels", "sender": ALICE, "content": {"users_default": 10}}
    changed = translate(default, context).events
    assert {
        event.occupant.affiliation for event in changed if isinstance(event, OccupantChanged)
    } == {Affiliation.MEMBER}


def test_topic_is_the_subject() -> None:
    context = context_with((ALICE, "Alice"))
    topic = {"type": "m.room.topic", "sender": ALICE, "state_key": "", "content": {"topic": "News"}}
    assert only(translate(topic, context)) == SubjectChanged(ROOM, "News", "Alice")
    cleared = topic | {"content": {}}
    assert only(translate(cleared, context)) == SubjectChanged(ROOM, "", "Alice")


def test_the_room_picture_is_its_avatar_and_a_removal_takes_it_away() -> None:
    context = context_with((ALICE, "Alice"))
    picture = {"type": "m.room.avatar", "sender": ALICE, "state_key": "", "content": {}}
    set_to = picture | {"content": {"url": "mxc://s.org/pic"}}
    assert only(translate(set_to, context)) == RoomAvatar(ROOM, "mxc://s.org/pic#thumbnail")
    assert only(translate(picture, context)) == RoomAvatar(ROOM, None)
    assert only(translate(picture | {"content": {"url": "https://x"}}, context)) == RoomAvatar(
        ROOM, None
    )
    direct = RoomContext(ROOM, ME, direct=ContactAddress("s.org", "alice"))
    assert translate(set_to, direct).events == ()


def test_typing_starts_and_stops() -> None:
    context = context_with((ALICE, "Alice"), (BOB, "Bob"))
    typing: dict[str, Any] = {"type": "m.typing", "content": {"user_ids": [ALICE, ME, 5]}}
    first, now = translate_typing(typing, frozenset(), context)
    assert first.events == (Typing(ROOM, "Alice"),) and now == {ALICE}
    typing["content"]["user_ids"] = [BOB]
    second, now = translate_typing(typing, now, context)
    assert second.events == (Typing(ROOM, "Bob"), Typing(ROOM, "Alice", active=False))
    same, _ = translate_typing(typing, now, context)
    assert same.events == () and same.skipped
    broken, kept = translate_typing({"type": "m.typing"}, now, context)
    assert broken.skipped and kept == now


def test_typing_in_a_direct_chat_comes_from_the_contact() -> None:
    contact = ContactAddress("s.org", "alice")
    context = RoomContext(ROOM, ME, direct=contact)
    translation, _ = translate_typing(
        {"type": "m.typing", "content": {"user_ids": [ALICE]}}, frozenset(), context
    )
    assert translation.events == (Typing(contact, None),)
