"""Outgoing mentions: a nick the XMPP user addresses becomes a pill Matrix notifies."""

from __future__ import annotations

import pytest

from bridge.addressing import RoomAddress
from bridge.events import SendMessage
from plugins.matrix.actions import message_content
from plugins.matrix.members import RoomMembers
from plugins.matrix.mentions import MentionedText, with_mentions

MEMBERS = {"alice": "@alice:hs", "Bob Smith": "@bob:hs", "a&b": "@ab:hs"}
ALICE = '<a href="https://matrix.to/#/@alice:hs">alice</a>'
BOB = '<a href="https://matrix.to/#/@bob:hs">Bob Smith</a>'


@pytest.mark.parametrize(
    ("text", "html", "user_ids"),
    [
        ("alice: hi", f"{ALICE}: hi", ("@alice:hs",)),
        ("alice, hi", f"{ALICE}, hi", ("@alice:hs",)),
        ("alice:", f"{ALICE}:", ("@alice:hs",)),
        ("ping @alice and @Bob Smith!", f"ping {ALICE} and {BOB}!", ("@alice:hs", "@bob:hs")),
        ("alice: @alice", f"{ALICE}: {ALICE}", ("@alice:hs",)),
        ("alice: *hi*", f"{ALICE}: <strong>hi</strong>", ("@alice:hs",)),
        ("alice: `@Bob Smith`", f"{ALICE}: <code>@Bob Smith</code>", ("@alice:hs",)),
        ("a&b: yo", '<a href="https://matrix.to/#/@ab:hs">a&amp;b</a>: yo', ("@ab:hs",)),
    ],
)
def test_addressed_and_at_nicks_become_pills(
    text: str, html: str, user_ids: tuple[str, ...]
) -> None:
    assert with_mentions(text, MEMBERS) == MentionedText(text, html, user_ids)


@pytest.mark.parametrize(
    "text",
    ["hi alice", "alice:x", "alicex: hi", "mail x@alice.com", "@alicex", "> alice: q", "Alice: hi"],
)
def test_a_nick_that_is_not_addressed_mentions_nobody(text: str) -> None:
    assert with_mentions(text, MEMBERS).user_ids == ()


@pytest.mark.parametrize(
    ("text", "html", "user_ids"),
    [
        ("hi\nalice: yo", f"hi<br>{ALICE}: yo", ("@alice:hs",)),
        ("alice: a\nBob Smith, b", f"{ALICE}: a<br>{BOB}, b", ("@alice:hs", "@bob:hs")),
        ("*x*\nalice: y", f"<strong>x</strong><br>{ALICE}: y", ("@alice:hs",)),
        (
            "```\nalice: no\n```\nalice: yes",
            f"<pre><code>alice: no</code></pre>{ALICE}: yes",
            ("@alice:hs",),
        ),
        (
            "> q\n> alice: no\nBob Smith: y",
            f"<blockquote>q<br>alice: no</blockquote>{BOB}: y",
            ("@bob:hs",),
        ),
    ],
)
def test_later_lines_that_address_a_nick_mention_too(
    text: str, html: str, user_ids: tuple[str, ...]
) -> None:
    assert with_mentions(text, MEMBERS) == MentionedText(text, html, user_ids)


def test_without_mentions_the_content_is_the_styled_text() -> None:
    assert with_mentions("*hi* there", MEMBERS).formatted_body == "<strong>hi</strong> there"
    assert with_mentions("alice: hi", {}) == MentionedText("alice: hi", None)


def test_the_room_message_carries_m_mentions_and_the_pill() -> None:
    action = SendMessage(RoomAddress("", "!r:hs"), "alice: hi", "x1")

    content = message_content(action, MEMBERS)

    assert content["body"] == "alice: hi"
    assert content["formatted_body"] == f"{ALICE}: hi"
    assert content["format"] == "org.matrix.custom.html"
    assert content["m.mentions"] == {"user_ids": ["@alice:hs"]}


@pytest.mark.parametrize("replaces", [None, "$1"])
def test_every_message_says_whom_it_mentions_even_nobody(replaces: str | None) -> None:
    """Matrix 1.7: an empty m.mentions keeps the legacy display-name push rules quiet."""
    action = SendMessage(RoomAddress("", "!r:hs"), "hi alice", "x3", replaces=replaces)

    content = message_content(action, MEMBERS)

    assert content["m.mentions"] == {}
    assert content.get("m.new_content", content)["m.mentions"] == {}


def test_an_edit_mentions_in_its_new_content_without_notifying_again() -> None:
    action = SendMessage(RoomAddress("", "!r:hs"), "alice: hi", "x2", replaces="$1")

    content = message_content(action, MEMBERS)

    assert content["m.new_content"]["m.mentions"] == {"user_ids": ["@alice:hs"]}
    assert content["m.mentions"] == {}


def test_members_are_found_by_the_nick_the_room_shows() -> None:
    members = RoomMembers()
    members.set_membership("@alice:hs", "Alice", joined=True)
    members.set_membership("@al:hs", "Alice", joined=True)
    members.set_membership("@carol:hs", None, joined=True)

    assert members.user_ids_by_nick() == {
        "Alice (@alice:hs)": "@alice:hs",
        "Alice (@al:hs)": "@al:hs",
        "@carol:hs": "@carol:hs",
    }
