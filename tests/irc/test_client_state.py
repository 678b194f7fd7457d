"""Messages both ways, echoes, CTCP, numerics, away and hostile lines on one connection."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress
from bridge.errors import BadRequest, NickInUse, NoSuchContact, NoSuchRoom
from bridge.events import ContactPresence, MessageIn, NickChangeFailed, Show
from plugins.irc.client_state import IrcClientState
from plugins.irc.protocol.message import IrcMessage
from tests.irc.client_helpers import (
    FEATURES,
    ME,
    ROOM,
    SERVER,
    feed,
    join_channel,
    make_state,
    wire,
)

ALICE = ContactAddress(SERVER, "alice")
SERVER_JID = ServerAddress(SERVER)
ECHO = frozenset({"echo-message"})


def test_channel_messages_carry_nick_id_time_and_styling() -> None:
    state = make_state()
    join_channel(state)
    out = feed(
        state,
        "@msgid=abc123;time=2024-05-01T12:30:00.250Z :alice!a@h PRIVMSG #chan :hi \x02there\x02",
    )
    assert out == [
        MessageIn(
            ROOM,
            "hi *there*",
            nick="alice",
            legacy_id="abc123",
            when=datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=UTC),
        )
    ]


def test_notices_actions_and_operator_only_messages_in_channels() -> None:
    state = make_state()
    join_channel(state)
    assert feed(state, ":alice!a@h NOTICE #chan :heads up") == [
        MessageIn(ROOM, "heads up", nick="alice", notice=True)
    ]
    assert feed(state, ":alice!a@h PRIVMSG #chan :\x01ACTION waves\x01") == [
        MessageIn(ROOM, "waves", nick="alice", action=True)
    ]
    assert feed(state, ":alice!a@h PRIVMSG @#chan :ops only") == [
        MessageIn(ROOM, "ops only", nick="alice")
    ]
    assert feed(state, ":alice!a@h PRIVMSG #chan :broken \x01ACTION") == [
        MessageIn(ROOM, "broken ACTION", nick="alice")
    ]


def test_private_messages_come_from_the_contact() -> None:
    state = make_state()
    assert feed(state, ":alice!a@h PRIVMSG me :psst") == [MessageIn(ALICE, "psst")]
    assert feed(state, ":alice!a@h PRIVMSG ME :\x01ACTION nods") == [
        MessageIn(ALICE, "nods", action=True)
    ]
    assert feed(state, ":NickServ!s@services. NOTICE me :\x02Identify\x02 please") == [
        MessageIn(ContactAddress(SERVER, "NickServ"), "*Identify* please", notice=True)
    ]


@pytest.mark.parametrize(
    "line",
    [
        f":{SERVER} NOTICE me :*** \x02Server\x02 notice",
        ":hub.example.net NOTICE * :*** \x02Server\x02 notice",
        "NOTICE AUTH :*** \x02Server\x02 notice",
    ],
)
def test_server_notices_go_to_the_server_jid_without_formatting(line: str) -> None:
    assert feed(make_state(), line) == [MessageIn(SERVER_JID, "*** Server notice", notice=True)]


def test_a_server_notice_to_a_channel_has_no_nick() -> None:
    state = make_state()
    join_channel(state)
    assert feed(state, f":{SERVER} NOTICE #chan :netsplit over") == [
        MessageIn(ROOM, "netsplit over", notice=True)
    ]


def test_say_to_a_channel_and_a_contact() -> None:
    state = make_state()
    join_channel(state)
    assert wire(state.say(ROOM, "hello\nworld", action=False, xmpp_id="1")) == [
        "PRIVMSG #chan hello",
        "PRIVMSG #chan world",
    ]
    assert wire(state.say(ALICE, ":) hi", action=True, xmpp_id="2")) == [
        "PRIVMSG alice :\x01ACTION :) hi\x01"
    ]
    # Control characters typed in XMPP never reach IRC as formatting or CTCP.
    assert wire(state.say(ALICE, "\x01VERSION\x01 \x02x", action=False, xmpp_id="3")) == [
        "PRIVMSG alice :VERSION x"
    ]
    assert state.say(ALICE, " \n ", action=False, xmpp_id="4") == []


def test_slash_mode_in_a_channel_is_a_mode_command() -> None:
    state = make_state()
    join_channel(state)
    assert wire(state.say(ROOM, "/mode +o bob", action=False, xmpp_id="1")) == ["MODE #chan +o bob"]
    assert wire(state.say(ALICE, "/mode +o bob", action=False, xmpp_id="2")) == [
        "PRIVMSG alice :/mode +o bob"
    ]


def test_say_refuses_what_cannot_be_sent() -> None:
    state = make_state()
    with pytest.raises(
        NoSuchRoom, match="you are not in #chan on irc\\.example\\.org: join it first"
    ):
        state.say(ROOM, "hi", action=False, xmpp_id="1")
    with pytest.raises(NoSuchContact, match="not a valid IRC nick"):
        state.say(ContactAddress(SERVER, "two words"), "hi", action=False, xmpp_id="1")


def test_long_messages_are_cut_to_what_receivers_get_whole() -> None:
    state = make_state()
    join_channel(state)  # our JOIN echo tells our user@host: me!~me@gateway.example
    text = "word " * 400
    for action in (False, True):
        lines = wire(state.say(ROOM, text, action=action, xmpp_id="1"))
        assert len(lines) > 3
        relayed = [f":me!~me@gateway.example {line}\r\n".encode() for line in lines]
        assert all(len(line) <= 512 for line in relayed)
        assert max(len(line) for line in relayed) > 480  # and not needlessly short
        bodies = [line.split(" :", 1)[1].strip("\x01").removeprefix("ACTION ") for line in lines]
        assert " ".join(bodies).strip() == text.strip()


def test_text_to_the_server_jid_is_sent_as_raw_lines() -> None:
    state = make_state()
    out = state.say(
        SERVER_JID, "WHOIS alice\n\nprivmsg bob :hello there", action=False, xmpp_id="1"
    )
    assert out == [IrcMessage("WHOIS", ("alice",)), IrcMessage("PRIVMSG", ("bob", "hello there"))]
    with pytest.raises(BadRequest, match="not an IRC line"):
        state.say(SERVER_JID, "!!! nonsense", action=False, xmpp_id="2")


def test_echoes_reflect_each_message_once_with_its_xmpp_id() -> None:
    state = make_state(caps=ECHO)
    join_channel(state)
    long_lines = wire(state.say(ROOM, "x" * 1200, action=False, xmpp_id="long"))
    assert len(long_lines) == 3
    state.say(ROOM, "short", action=True, xmpp_id="short")
    state.say(ALICE, "private", action=False, xmpp_id="pm")
    first_piece = long_lines[0].split(" ")[-1]
    assert feed(state, *(f":me!~me@gw {line}" for line in long_lines)) == [
        MessageIn(ROOM, first_piece, nick=ME, own=True, echo_of="long")
    ]
    assert feed(state, ":me!~me@gw PRIVMSG #CHAN :\x01ACTION short\x01") == [
        MessageIn(ROOM, "short", nick=ME, action=True, own=True, echo_of="short")
    ]
    assert feed(state, ":me!~me@gw PRIVMSG alice :private") == [
        MessageIn(ALICE, "private", own=True, echo_of="pm")
    ]
    # Our own line sent from elsewhere (a raw command): shown, matched to nothing.
    assert feed(state, ":me!~me@gw PRIVMSG #chan :typed raw") == [
        MessageIn(ROOM, "typed raw", nick=ME, own=True)
    ]


def test_without_echo_message_nothing_waits_for_an_echo() -> None:
    state = make_state()
    join_channel(state)
    state.say(ROOM, "hello", action=False, xmpp_id="1")
    # A bouncer may still show us our line: it is ours, but answers no XMPP id.
    assert feed(state, ":me!~me@gw PRIVMSG #chan :hello") == [
        MessageIn(ROOM, "hello", nick=ME, own=True)
    ]


def test_echo_message_enabled_later_by_cap_ack_is_honoured() -> None:
    state = make_state()
    feed(state, f":{SERVER} CAP me ACK :echo-message")
    state.say(ALICE, "hi", action=False, xmpp_id="7")
    assert feed(state, ":me!~me@gw PRIVMSG alice :hi") == [
        MessageIn(ALICE, "hi", own=True, echo_of="7")
    ]


def test_ctcp_requests_are_answered_and_replies_shown() -> None:
    state = make_state()
    assert wire(feed(state, ":alice!a@h PRIVMSG me :\x01VERSION\x01")) == [
        "NOTICE alice :\x01VERSION bridge 1.0\x01"
    ]
    assert wire(feed(state, ":alice!a@h PRIVMSG #chan :\x01PING 12345\x01")) == [
        "NOTICE alice :\x01PING 12345\x01"
    ]
    [time_reply] = wire(feed(state, ":alice!a@h PRIVMSG me :\x01TIME\x01"))
    assert time_reply.startswith("NOTICE alice :\x01TIME ") and time_reply.endswith("+0000\x01")
    assert feed(state, ":alice!a@h PRIVMSG me :\x01DCC SEND file 1 2 3\x01") == []
    assert feed(state, ":alice!a@h NOTICE me :\x01VERSION irssi 1.4\x01") == [
        MessageIn(ALICE, "CTCP VERSION reply: irssi 1.4", notice=True)
    ]
    # Our own CTCP lines echoed back are nobody's business.
    assert feed(make_state(caps=ECHO), ":me!~me@gw NOTICE alice :\x01VERSION x\x01") == []


def test_numerics_without_a_place_go_to_the_server_jid() -> None:
    state = make_state()
    assert feed(state, f":{SERVER} 372 me :- Welcome to \x0304Example\x03Net") == [
        MessageIn(SERVER_JID, "- Welcome to ExampleNet", notice=True)
    ]
    assert feed(state, f":{SERVER} 252 me 2 :operator(s) online") == [
        MessageIn(SERVER_JID, "2 operator(s) online", notice=True)
    ]
    assert feed(state, f":{SERVER} 305 me :You are no longer marked as being away") == []


def test_no_such_nick_is_told_in_the_conversation_with_that_contact() -> None:
    state = make_state()
    assert feed(state, f":{SERVER} 401 me alice :No such nick/channel") == [
        MessageIn(ALICE, "alice: no such nick, the message was not delivered", notice=True)
    ]


def test_errors_about_a_joined_channel_are_shown_in_the_room() -> None:
    state = make_state()
    join_channel(state)
    assert feed(state, f":{SERVER} 404 me #chan :Cannot send to channel (+m)") == [
        MessageIn(ROOM, "Cannot send to channel (+m)", notice=True)
    ]
    assert feed(state, f":{SERVER} 482 me #CHAN :You're not channel operator") == [
        MessageIn(ROOM, "You're not channel operator", notice=True)
    ]


def test_refused_nick_changes_fail_in_every_joined_room() -> None:
    state = make_state()
    join_channel(state, "#a")
    join_channel(state, "#b")
    with pytest.raises(BadRequest, match="cannot be an IRC nick"):
        state.change_nick("two words")
    assert wire(state.change_nick("taken")) == ["NICK taken"]
    refusals = feed(state, f":{SERVER} 433 me taken :Nickname is already in use")
    assert [(e.room, e.nick) for e in refusals if isinstance(e, NickChangeFailed)] == [
        (RoomAddress(SERVER, "#a"), "taken"),
        (RoomAddress(SERVER, "#b"), "taken"),
    ]
    for refusal in refusals:
        assert isinstance(refusal, NickChangeFailed) and isinstance(refusal.error, NickInUse)
        assert "taken is taken" in refusal.error.text and "already in use" in refusal.error.text
    assert state.nick == ME
    state.change_nick("ünï")  # locally plausible; this server refuses it
    [invalid, _] = feed(state, f":{SERVER} 432 me ünï :Erroneous nickname")
    assert isinstance(invalid, NickChangeFailed) and isinstance(invalid.error, BadRequest)


def test_a_refused_nick_outside_any_room_is_told_by_the_server() -> None:
    state = make_state()
    state.change_nick("taken")
    assert feed(state, f":{SERVER} 433 me taken :Nickname is already in use") == [
        MessageIn(
            SERVER_JID, "cannot change nick to taken: Nickname is already in use", notice=True
        )
    ]


HISTORY = frozenset({"batch", "draft/chathistory", "server-time", "message-tags"})
SEEN = "@msgid=m1;time=2024-05-01T12:30:00.250Z :alice!a@h PRIVMSG #chan :before the drop"


def reconnected(previous: IrcClientState, caps: frozenset[str] = HISTORY) -> IrcClientState:
    """The next connection's state, the channel rejoined, after *previous* was lost."""
    previous.lost("ping timeout")
    state = make_state(caps=caps)
    join_channel(state)
    return state


def test_after_a_reconnect_the_gap_is_asked_for_and_filled_without_duplicates() -> None:
    before = make_state(caps=HISTORY)
    join_channel(before)
    feed(before, SEEN)
    after = reconnected(before)
    feed(after, "@msgid=m3;time=2024-05-01T12:40:00Z :alice!a@h PRIVMSG #chan :live again")
    assert wire(after.resume(before)) == [
        "CHATHISTORY AFTER #chan timestamp=2024-05-01T12:30:00.250Z 100"
    ]
    replayed = feed(
        after,
        f":{SERVER} BATCH +h1 chathistory #chan",
        "@batch=h1;msgid=m1;time=2024-05-01T12:30:00.250Z :alice!a@h PRIVMSG #chan :before",
        "@batch=h1;msgid=m2;time=2024-05-01T12:35:00Z :bob!b@h PRIVMSG #chan :in the gap",
        "@batch=h1;msgid=m9;time=2024-05-01T12:36:00Z :bob!b@h PRIVMSG #chan :\x01VERSION\x01",
        "@batch=h1;msgid=m8;time=2024-05-01T12:37:00Z :carol!c@h JOIN #chan",
        "@batch=h1;msgid=m3;time=2024-05-01T12:40:00Z :alice!a@h PRIVMSG #chan :live again",
        f":{SERVER} BATCH -h1",
    )
    assert replayed == [
        MessageIn(
            ROOM,
            "in the gap",
            nick="bob",
            legacy_id="m2",
            when=datetime(2024, 5, 1, 12, 35, tzinfo=UTC),
        )
    ]
    # The batch is over: the same id live is a new line again, and carol never joined.
    assert feed(after, ":carol!c@h PRIVMSG #chan :hi")[0] == MessageIn(ROOM, "hi", nick="carol")


def test_a_channel_still_joining_asks_for_its_gap_once_joined() -> None:
    before = make_state(caps=HISTORY)
    join_channel(before)
    feed(before, "@msgid=only-id :alice!a@h PRIVMSG #chan :no time on this server")
    before.lost("ping timeout")
    after = make_state(caps=HISTORY)
    after.join("#chan", ME, None)
    assert after.resume(before) == []
    out = feed(
        after,
        ":me!~me@gw JOIN #chan",
        f":{SERVER} 353 me = #chan :me alice",
        f":{SERVER} 366 me #chan :End of /NAMES list.",
    )
    assert wire(out) == ["CHATHISTORY AFTER #chan msgid=only-id 100"]
    assert feed(after, f":{SERVER} 366 me #chan :End of /NAMES list.") == []


def test_no_history_is_asked_without_the_capabilities_or_a_starting_point() -> None:
    before = make_state(caps=HISTORY)
    join_channel(before)
    feed(before, SEEN)
    assert reconnected(before, caps=frozenset({"server-time"})).resume(before) == []
    quiet = make_state(caps=HISTORY)
    join_channel(quiet)
    assert reconnected(quiet).resume(quiet) == []


def test_the_server_limit_on_history_is_respected() -> None:
    before = make_state(caps=HISTORY)
    join_channel(before)
    feed(before, SEEN)
    before.lost("gone")
    after = make_state(caps=HISTORY, features=FEATURES.with_tokens(["CHATHISTORY=50"]))
    join_channel(after)
    assert wire(after.resume(before))[0].endswith(" 50")


def test_away_is_set_and_unset_once_per_change() -> None:
    state = make_state()
    assert wire(state.away(Show.XA, "")) == ["AWAY away"]
    assert wire(state.away(Show.DND, "in a\nmeeting")) == ["AWAY :in a meeting"]
    assert state.away(Show.AWAY, "in a meeting") == []
    assert wire(state.away(Show.CHAT, "here")) == ["AWAY"]
    assert state.away(Show.AVAILABLE, "") == []


def test_away_notify_and_away_replies_become_contact_presence() -> None:
    state = make_state()
    assert feed(state, ":alice!a@h AWAY :\x02lunch\x02") == [
        ContactPresence(ALICE, Show.AWAY, "lunch")
    ]
    assert feed(state, ":alice!a@h AWAY") == [ContactPresence(ALICE, Show.AVAILABLE)]
    assert feed(state, f":{SERVER} 301 me alice :gone fishing") == [
        ContactPresence(ALICE, Show.AWAY, "gone fishing")
    ]
    assert feed(state, ":me!~me@gw AWAY :mine") == []


def test_invitations_come_from_the_inviter() -> None:
    assert feed(make_state(), ":alice!a@h INVITE me :#secret") == [
        MessageIn(ALICE, "alice invites you to #secret: join it to accept", notice=True)
    ]


def test_ping_is_answered() -> None:
    assert wire(feed(make_state(), "PING :token 1")) == ["PONG :token 1"]


def test_our_host_from_chghost_and_396_shortens_or_lengthens_pieces() -> None:
    state = make_state()
    join_channel(state)
    long_host = "h" * 60
    feed(state, f":{SERVER} 396 me {long_host} :is now your displayed host")
    lines = wire(state.say(ROOM, "y" * 2000, action=False, xmpp_id="1"))
    assert all(len(f":me!~me@{long_host} {line}\r\n".encode()) <= 512 for line in lines)
    feed(state, f":me!~me@{long_host} CHGHOST u h")
    short = wire(state.say(ROOM, "y" * 2000, action=False, xmpp_id="1"))
    assert len(short[0]) > len(lines[0])


HOSTILE = [
    "PRIVMSG",
    "PRIVMSG #chan",
    ":alice!a@h PRIVMSG",
    ":alice!a@h NOTICE me",
    "JOIN",
    ":x!y@z JOIN",
    ":x!y@z PART",
    ":x!y@z KICK #chan",
    ":x!y@z MODE #chan +oooo",
    ":x!y@z MODE",
    ":x!y@z NICK",
    ":x!y@z TOPIC",
    "QUIT",
    "AWAY",
    "CHGHOST",
    "CAP",
    "005",
    "332",
    "333",
    "353",
    "366",
    "401",
    "404",
    "433",
    "475",
    "999 me",
    ":me!~me@gw JOIN #chan",
    "353 me = #chan :@ + @@ ~",
    "WALLOPS :hello",
    "FOO bar baz",
    "@time=not-a-time :alice!a@h PRIVMSG #chan :x",
    "@time= :alice!a@h PRIVMSG me :\x01",
]


def test_hostile_lines_never_raise_nor_make_empty_messages() -> None:
    state = make_state(caps=ECHO)
    join_channel(state)
    for line in HOSTILE:
        for output in feed(state, line):
            assert not isinstance(output, MessageIn) or output.body.strip(), line
    # Still in working order afterwards.
    assert feed(state, ":alice!a@h PRIVMSG #chan :still here") == [
        MessageIn(ROOM, "still here", nick="alice")
    ]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_COMMANDS = ["PRIVMSG", "NOTICE", "JOIN", "PART", "QUIT", "NICK", "KICK", "MODE", "TOPIC", "AWAY"]
_COMMANDS += [
    "INVITE",
    "CHGHOST",
    "CAP",
    "PING",
    "005",
    "301",
    "302",
    "332",
    "333",
    "353",
    "366",
    "396",
]
_COMMANDS += ["401", "403", "404", "433", "471", "475", "482", "372"]
_COMMANDS += ["321", "322", "323", "263", "303", "730", "731", "734", "BATCH"]
_WORDS = st.sampled_from(["", "#chan", "#CHAN", "me", "alice", "+o", "-v+b", "@", "*", "\x01"])


@settings(max_examples=300, deadline=None)
@given(
    command=st.sampled_from(_COMMANDS),
    source=st.sampled_from([None, "alice!a@h", "me!~me@gw", SERVER, "x"]),
    params=st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=5),
)
def test_no_line_reaches_the_last_resort_handler(
    command: str, source: str | None, params: list[str]
) -> None:
    """receive() swallows errors as a last resort; no line should ever need it."""
    state = make_state(caps=ECHO)
    join_channel(state)
    handler = _Collector()
    log = logging.getLogger("plugins.irc.client_state")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        state.receive(IrcMessage(command, tuple(params), source))
    finally:
        log.removeHandler(handler)
    assert not [record for record in handler.records if record.exc_info], handler.records
