"""Matrix relations → core events, and the user's messages → Matrix content."""

from __future__ import annotations

from typing import Any

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import Displayed, MessageIn, Reaction, Retraction, SendMessage
from plugins.matrix.actions import message_content
from plugins.matrix.members import RoomMembers
from plugins.matrix.reactions import Annotation, RelationBook
from plugins.matrix.translate import (
    ENCRYPTED_ROOM,
    UNREADABLE,
    RoomContext,
    absorb_state,
    encryption_notice,
    translate,
    translate_receipts,
)

ROOM = RoomAddress("", "!Room")
ME, ALICE, BOB = "@me:s.org", "@alice:s.org", "@bob:s.org"


def context() -> RoomContext:
    members = RoomMembers()
    joins = [
        {"type": "m.room.member", "sender": u, "state_key": u, "content": {"membership": "join"}}
        for u in (ME, ALICE, BOB)
    ]
    absorb_state(joins, members)
    return RoomContext(ROOM, ME, members)


def event(kind: str, sender: str, event_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "sender": sender, "event_id": event_id, "content": {}} | fields


def text(sender: str, event_id: str, body: str, **content: Any) -> dict[str, Any]:
    return event("m.room.message", sender, event_id, content={"body": body} | content)


def reaction(sender: str, event_id: str, target: str, key: str) -> dict[str, Any]:
    relation = {"rel_type": "m.annotation", "event_id": target, "key": key}
    return event("m.reaction", sender, event_id, content={"m.relates_to": relation})


def redaction(sender: str, event_id: str, redacts: str) -> dict[str, Any]:
    return event("m.room.redaction", sender, event_id, redacts=redacts, content={"reason": "x"})


def one(raw: object, where: RoomContext) -> object:
    events = translate(raw, where).events
    assert len(events) == 1, events
    return events[0]


def test_an_edit_carries_the_new_content_and_names_the_original() -> None:
    where = context()
    translate(text(ALICE, "$1", "helo"), where)
    edit = text(
        ALICE,
        "$2",
        "* hello",
        **{
            "m.new_content": {"body": "hello"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"},
        },
    )
    message = one(edit, where)
    assert isinstance(message, MessageIn)
    assert (message.body, message.replaces, message.legacy_id) == ("hello", "$1", "$2")


def test_nobody_edits_someone_elses_message() -> None:
    where = context()
    translate(text(ALICE, "$1", "mine"), where)
    forged = text(
        BOB,
        "$2",
        "* yours",
        **{
            "m.new_content": {"body": "yours"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"},
        },
    )
    assert translate(forged, where).events == ()


def test_reactions_are_each_senders_full_set_and_a_redacted_one_shrinks_it() -> None:
    where = context()
    assert one(reaction(ALICE, "$r1", "$m", "👍"), where) == Reaction(ROOM, ALICE, "$m", ("👍",))
    assert one(reaction(BOB, "$r2", "$m", "🎉"), where) == Reaction(ROOM, BOB, "$m", ("🎉",))
    assert one(reaction(ALICE, "$r3", "$m", "❤"), where) == Reaction(ROOM, ALICE, "$m", ("👍", "❤"))
    assert one(redaction(ALICE, "$x", "$r1"), where) == Reaction(ROOM, ALICE, "$m", ("❤",))
    assert one(redaction(ALICE, "$y", "$r3"), where) == Reaction(ROOM, ALICE, "$m", ())


def test_a_redaction_by_the_author_is_a_retraction_by_another_a_moderation() -> None:
    where = context()
    translate(text(ALICE, "$1", "oops"), where)
    translate(text(ALICE, "$2", "spam"), where)
    assert one(redaction(ALICE, "$x", "$1"), where) == Retraction(ROOM, ALICE, "$1", None, "x")
    assert one(redaction(BOB, "$y", "$2"), where) == Retraction(ROOM, ALICE, "$2", BOB, "x")


def test_room_version_11_redactions_name_the_event_in_the_content() -> None:
    where = context()
    translate(text(ALICE, "$1", "oops"), where)
    raw = event("m.room.redaction", ALICE, "$x", content={"redacts": "$1"})
    assert one(raw, where) == Retraction(ROOM, ALICE, "$1")


def test_read_receipts_of_others_are_displayed_markers() -> None:
    receipt = {
        "type": "m.receipt",
        "content": {"$1": {"m.read": {ALICE: {"ts": 1}, ME: {"ts": 1}}}},
    }
    assert translate_receipts(receipt, context()).events == (Displayed(ROOM, ALICE, "$1"),)
    direct = RoomContext(ROOM, ME, direct=ContactAddress("s.org", "alice"))
    assert translate_receipts(receipt, direct).events == (
        Displayed(ContactAddress("s.org", "alice"), None, "$1"),
    )


def test_encrypted_events_are_never_silently_lost() -> None:
    where = context()
    notice = one(event("m.room.encrypted", ALICE, "$e"), where)
    assert isinstance(notice, MessageIn)
    assert (notice.body, notice.nick, notice.notice) == (UNREADABLE, ALICE, True)
    assert encryption_notice(where) == MessageIn(ROOM, ENCRYPTED_ROOM, notice=True)


def test_a_room_name_change_is_a_notice() -> None:
    raw = event("m.room.name", ALICE, "$n", content={"name": "Tea room"}, state_key="")
    notice = one(raw, context())
    assert isinstance(notice, MessageIn) and notice.notice
    assert notice.body == f"{ALICE} named the room “Tea room”"


def test_outgoing_edit_and_reply_content() -> None:
    edit = message_content(SendMessage(ROOM, "hello", "x1", replaces="$1"))
    assert edit["body"] == "* hello"
    assert edit["m.new_content"] == {"msgtype": "m.text", "body": "hello", "m.mentions": {}}
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$1"}
    reply = message_content(SendMessage(ROOM, "agreed", "x2", reply_to="$2"))
    assert reply["body"] == "agreed"
    assert reply["m.relates_to"] == {"m.in_reply_to": {"event_id": "$2"}}


def test_the_book_forgets_the_oldest_beyond_its_bound() -> None:
    book = RelationBook(limit=2)
    for number in range(3):
        book.add_annotation(f"$r{number}", Annotation("$m", ALICE, str(number)))
        book.add_author(f"$m{number}", ALICE)
    assert book.keys("$m", ALICE) == ("1", "2")
    assert book.author_of("$m0") is None and book.author_of("$m2") == ALICE
