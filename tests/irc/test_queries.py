"""Channel lists and CTCP questions: what goes out, what answers them, and what bounds them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress
from bridge.errors import NoSuchContact, NotConnected, RateLimited
from bridge.events import MessageIn
from bridge.network import RoomListing, SoftwareVersion
from plugins.irc import queries, session
from plugins.irc.client_state import IrcClientState, Output
from plugins.irc.session import IrcSession
from tests.irc.client_helpers import SERVER, feed, make_state, wire

BOB = ContactAddress(SERVER, "bob")


class Answers:
    """An answer callback that keeps what it was given."""

    def __init__(self) -> None:
        self.got: list[Any] = []

    def __call__(self, result: Any) -> None:
        self.got.append(result)


def list_lines(*entries: str) -> list[str]:
    return [
        f":{SERVER} 321 me Channel :Users  Name",
        *(f":{SERVER} 322 me {entry}" for entry in entries),
        f":{SERVER} 323 me :End of /LIST",
    ]


def test_the_channel_list_is_collected_most_populated_first() -> None:
    state, answer = make_state(), Answers()
    assert wire(state.list_channels(0.0, answer)) == ["LIST"]
    out = feed(
        state,
        *list_lines(
            "#small 2 :\x02tiny\x02 room",
            "#big 40 :[+nt] the big one",
            "* 9 :a secret channel",
            "#mid 7 :",
        ),
    )
    assert out == [] and len(answer.got) == 1
    assert answer.got[0] == [
        RoomListing(RoomAddress(SERVER, "#big"), 40, "the big one"),
        RoomListing(RoomAddress(SERVER, "#mid"), 7, ""),
        RoomListing(RoomAddress(SERVER, "#small"), 2, "tiny room"),
    ]


def test_one_list_serves_everyone_who_asks_and_is_reused_briefly() -> None:
    state, first, second, later = make_state(), Answers(), Answers(), Answers()
    assert wire(state.list_channels(0.0, first)) == ["LIST"]
    assert state.list_channels(1.0, second) == []
    feed(state, *list_lines("#a 1 :x"))
    assert first.got == second.got and len(first.got) == 1
    assert state.list_channels(30.0, later) == [] and later.got == first.got
    assert wire(state.list_channels(queries.LIST_CACHE_SECONDS + 1, Answers())) == ["LIST"]


def test_a_list_that_never_ends_is_asked_again_after_its_timeout() -> None:
    state = make_state()
    assert wire(state.list_channels(0.0, Answers())) == ["LIST"]
    assert state.list_channels(queries.LIST_TIMEOUT - 1, Answers()) == []
    assert wire(state.list_channels(queries.LIST_TIMEOUT + 1, Answers())) == ["LIST"]


def test_the_list_keeps_only_the_most_populated_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "MAX_LISTED", 2)
    state, answer = make_state(), Answers()
    state.list_channels(0.0, answer)
    feed(state, *list_lines("#a 5 :", "#b 1 :", "#c 9 :", "#d 3 :"))
    assert [listing.room.name for listing in answer.got[0]] == ["#c", "#a"]


def test_a_refused_or_lost_list_fails_with_a_reason() -> None:
    state, answer = make_state(), Answers()
    state.list_channels(0.0, answer)
    assert feed(state, f":{SERVER} 263 me LIST :Server load is temporarily too heavy") == []
    [error] = answer.got
    assert isinstance(error, RateLimited) and "too heavy" in error.text
    lost = Answers()
    state.list_channels(1.0, lost)
    state.lost("reset by peer")
    assert isinstance(lost.got[0], NotConnected) and "reset by peer" in lost.got[0].text


def test_a_list_nobody_asked_for_is_shown_to_the_user() -> None:
    out = feed(make_state(), f":{SERVER} 322 me #typed 3 :by hand")
    assert out == [MessageIn(ServerAddress(SERVER), "#typed 3 by hand", notice=True)]


def test_ctcp_version_is_asked_and_its_answer_taken_not_shown() -> None:
    state, answer = make_state(), Answers()
    assert wire(state.ask_client(BOB, "VERSION", answer)) == ["PRIVMSG bob \x01VERSION\x01"]
    assert feed(state, ":Bob!b@h NOTICE me :\x01VERSION irssi v1.4.3 - Linux\x01") == []
    assert answer.got == ["irssi v1.4.3 - Linux"]
    # A second answer nobody waits for is shown as before.
    assert feed(state, ":bob!b@h NOTICE me :\x01VERSION irssi\x01") == [
        MessageIn(BOB, "CTCP VERSION reply: irssi", notice=True)
    ]


def test_ctcp_ping_answers_are_matched_by_their_token() -> None:
    state, answer = make_state(), Answers()
    [line] = wire(state.ask_client(BOB, "PING", answer))
    token = line.removeprefix("PRIVMSG bob :\x01PING ").removesuffix("\x01")
    assert token and " " not in token
    assert feed(state, ":bob!b@h NOTICE me :\x01PING someone-else\x01") != []
    assert answer.got == []
    assert feed(state, f":bob!b@h NOTICE me :\x01PING {token}\x01") == []
    assert answer.got == [token]


def test_questions_to_missing_or_impossible_nicks_fail_clearly() -> None:
    state, answer = make_state(), Answers()
    state.ask_client(BOB, "VERSION", answer)
    assert feed(state, f":{SERVER} 401 me bob :No such nick/channel") == []
    [error] = answer.got
    assert isinstance(error, NoSuchContact) and "bob" in error.text
    with pytest.raises(NoSuchContact, match="not a valid IRC nick"):
        state.ask_client(ContactAddress(SERVER, "no body"), "VERSION", Answers())


def test_only_a_few_ctcp_questions_wait_at_once() -> None:
    state = make_state()
    answers = [Answers() for _ in range(queries.MAX_PENDING_CTCP + 1)]
    for answer in answers:
        state.ask_client(BOB, "PING", answer)
    assert isinstance(answers[0].got[0], RateLimited)
    assert all(answer.got == [] for answer in answers[1:])


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "irssi v1.4.3 - running on Linux x86_64",
            SoftwareVersion("irssi", "1.4.3", "running on Linux x86_64"),
        ),
        ("HexChat 2.16.1 [x86_64/Linux]", SoftwareVersion("HexChat", "2.16.1", "x86_64/Linux")),
        ("xchat:2.8.8:Linux 6.1", SoftwareVersion("xchat", "2.8.8", "Linux 6.1")),
        ("WeeChat 3.8", SoftwareVersion("WeeChat", "3.8")),
        ("\x02Custom\x02 client", SoftwareVersion("Custom client")),
        ("", SoftwareVersion("unknown")),
    ],
)
def test_version_answers_become_name_version_and_system(
    reply: str, expected: SoftwareVersion
) -> None:
    assert queries.software_of(reply) == expected


class _FakeLink:
    """Just enough of IrcLink for the session: a ready state whose lines are recorded."""

    def __init__(self, state: IrcClientState) -> None:
        self.state = state
        self.ready = asyncio.Event()
        self.ready.set()
        self.sent: list[str] = []
        self.spoke = asyncio.Event()

    def run(self, outputs: list[Output]) -> None:
        self.sent += wire(outputs)
        if self.sent:
            self.spoke.set()

    async def close(self, reason: str) -> None:
        self.ready.clear()


def _session(link: _FakeLink) -> IrcSession:
    async def opened() -> Any:
        return link

    return IrcSession(lambda server, nick: asyncio.get_running_loop().create_task(opened()))


async def test_the_session_waits_for_answers_and_bounds_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = make_state()
    link = _FakeLink(state)
    irc = _session(link)
    try:
        asked = asyncio.create_task(irc.contact_version(BOB))
        await asyncio.wait_for(link.spoke.wait(), 5)
        assert link.sent == ["PRIVMSG bob \x01VERSION\x01"]
        feed(state, ":bob!b@h NOTICE me :\x01VERSION WeeChat 3.8\x01")
        assert await asyncio.wait_for(asked, 5) == SoftwareVersion("WeeChat", "3.8")

        monkeypatch.setattr(session, "CTCP_TIMEOUT", 0.05)
        with pytest.raises(NotConnected, match=r"bob did not answer a CTCP PING within 0\.05 s"):
            await irc.ping_contact(BOB)
        feed(state, ":bob!b@h NOTICE me :\x01PING xb1\x01")  # too late: nobody minds
    finally:
        await irc.close("done")
