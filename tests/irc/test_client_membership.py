"""Channels as the user sees them: joining, who comes and goes, nick changes, kicks, modes."""

from __future__ import annotations

import pytest

from bridge.addressing import ContactAddress, RoomAddress
from bridge.errors import (
    AuthFailed,
    Forbidden,
    InviteOnly,
    LegacyError,
    NoSuchContact,
    NoSuchRoom,
    RoomFull,
)
from bridge.events import (
    Affiliation,
    Disconnected,
    JoinFailed,
    Kicked,
    MessageIn,
    NickChanged,
    Occupant,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    Role,
    RoomJoined,
    RoomLeft,
    SubjectChanged,
)
from plugins.irc.protocol.isupport import ServerFeatures
from tests.irc.client_helpers import (
    FEATURES,
    ME,
    ROOM,
    SERVER,
    events,
    feed,
    join_channel,
    make_state,
    wire,
)


def occupant(nick: str, role: Role, affiliation: Affiliation) -> Occupant:
    return Occupant(nick, role, affiliation, ContactAddress(SERVER, nick))


def test_join_reports_one_room_joined_with_occupants_subject_and_own_standing() -> None:
    state = make_state()
    assert wire(state.join("#Chan", ME, None)) == ["JOIN #Chan"]
    out = feed(
        state,
        ":me!~me@gateway.example JOIN #chan",
        f":{SERVER} 332 me #chan :\x0304red\x03 and \x02bold\x02 topic",
        f":{SERVER} 333 me #chan op!o@host 1700000000",
        f":{SERVER} 353 me = #chan :~owner @+op %half",
        f":{SERVER} 353 me = #chan :+voice plain @me",
        f":{SERVER} 366 me #chan :End of /NAMES list.",
    )
    assert out == [
        RoomJoined(
            room=RoomAddress(SERVER, "#chan"),  # as the server spells it
            nick=ME,
            occupants=(
                occupant("owner", Role.MODERATOR, Affiliation.OWNER),
                occupant("op", Role.MODERATOR, Affiliation.ADMIN),
                occupant("half", Role.MODERATOR, Affiliation.MEMBER),
                occupant("voice", Role.PARTICIPANT, Affiliation.MEMBER),
                occupant("plain", Role.PARTICIPANT, Affiliation.NONE),
            ),
            subject="red and bold topic",
            subject_by="op",
            own_role=Role.MODERATOR,
            own_affiliation=Affiliation.ADMIN,
        )
    ]
    assert state.channels() == [("#chan", None)]


def test_userhost_in_names_gives_plain_nicks() -> None:
    joined = join_channel(state := make_state(), names="@alice!a@host.example me!~me@gw")
    assert [o.nick for o in joined.occupants] == ["alice"]
    assert joined.occupants[0].role is Role.MODERATOR
    assert state.nick == ME


def test_join_with_key_is_remembered_for_the_rejoin() -> None:
    state = make_state()
    assert wire(state.join("#secret", ME, "hunter2")) == ["JOIN #secret hunter2"]
    assert state.channels() == [("#secret", "hunter2")]


def test_join_with_another_nick_takes_it_first_when_in_no_channel() -> None:
    state = make_state()
    assert wire(state.join("#chan", "alice", None)) == ["NICK alice", "JOIN #chan"]
    join_channel(state, "#other")
    assert wire(state.join("#third", "bob", None)) == ["JOIN #third"]


def test_joining_a_joined_channel_answers_from_memory() -> None:
    state = make_state()
    first = join_channel(state)
    assert state.join("#CHAN", ME, None) == [first]


@pytest.mark.parametrize(
    ("numeric", "kind", "advice"),
    [
        ("471", RoomFull, "#chan is full"),
        ("473", InviteOnly, "#chan is invite-only: ask one of its operators to invite you"),
        ("474", Forbidden, "you are banned from #chan"),
        ("475", AuthFailed, "#chan needs a key: join with a password"),
        ("403", NoSuchRoom, "#chan does not exist"),
        ("476", NoSuchRoom, "#chan is not a valid channel name"),
        ("405", Forbidden, "you are in too many channels"),
        ("437", Forbidden, "#chan is temporarily unavailable"),
        ("477", Forbidden, "#chan admits only registered nicks: identify with NickServ"),
        ("489", Forbidden, "cannot join #chan"),
    ],
)
def test_refused_joins_say_why_and_what_to_do(
    numeric: str, kind: type[LegacyError], advice: str
) -> None:
    state = make_state()
    state.join("#chan", ME, None)
    [failed] = feed(state, f":{SERVER} {numeric} me #chan :Server reason")
    assert isinstance(failed, JoinFailed) and failed.room == ROOM
    assert type(failed.error) is kind
    assert str(failed.error).startswith(advice)
    assert "(server said: Server reason)" in str(failed.error)
    assert state.channels() == []


def test_a_wrong_key_is_told_apart_from_a_missing_one() -> None:
    state = make_state()
    state.join("#chan", ME, "guess")
    [failed] = feed(state, f":{SERVER} 475 me #chan :Cannot join channel (+k)")
    assert isinstance(failed, JoinFailed)
    assert "the key for #chan is wrong" in str(failed.error)


def test_others_joining_and_leaving() -> None:
    state = make_state()
    join_channel(state)
    assert feed(state, ":alice!a@h JOIN #chan") == [
        OccupantJoined(ROOM, occupant("alice", Role.PARTICIPANT, Affiliation.NONE))
    ]
    # extended-join carries account and real name: the occupant is the same.
    assert feed(state, ":bob!b@h JOIN #chan bobacct :Bob Real") == [
        OccupantJoined(ROOM, occupant("bob", Role.PARTICIPANT, Affiliation.NONE))
    ]
    assert feed(state, ":alice!a@h PART #chan :\x02bye\x02") == [OccupantLeft(ROOM, "alice", "bye")]
    assert feed(state, ":stranger!s@h PART #chan") == []


def test_quit_leaves_every_shared_channel_under_casemapping() -> None:
    state = make_state()
    join_channel(state, "#a", names="[Bob] me")
    join_channel(state, "#b", names="{bob} me")
    join_channel(state, "#c", names="me")
    assert feed(state, ":{BOB}!b@h QUIT :Ping timeout") == [
        OccupantLeft(RoomAddress(SERVER, "#a"), "{BOB}", "Ping timeout"),
        OccupantLeft(RoomAddress(SERVER, "#b"), "{BOB}", "Ping timeout"),
    ]
    assert feed(state, ":me!~me@gw QUIT :Client quit") == []


def test_nick_changes_in_shared_channels_and_our_own_everywhere() -> None:
    state = make_state()
    join_channel(state, "#a", names="alice me")
    join_channel(state, "#b", names="me")
    assert feed(state, ":alice!a@h NICK :alicia") == [
        NickChanged(RoomAddress(SERVER, "#a"), "alice", "alicia")
    ]
    assert feed(state, ":me!~me@gw NICK newme") == [
        NickChanged(RoomAddress(SERVER, "#a"), "me", "newme"),
        NickChanged(RoomAddress(SERVER, "#b"), "me", "newme"),
    ]
    assert state.nick == "newme"
    # The renamed are still known: their quit is reported under the new nick.
    assert feed(state, ":alicia!a@h QUIT :gone") == [
        OccupantLeft(RoomAddress(SERVER, "#a"), "alicia", "gone")
    ]


def test_kicks_of_others_and_of_us() -> None:
    state = make_state()
    join_channel(state)
    assert feed(state, ":op!o@h KICK #chan plain :behave") == [
        Kicked(ROOM, "plain", "op", "behave")
    ]
    assert feed(state, ":op!o@h KICK #chan me :out") == [Kicked(ROOM, ME, "op", "out")]
    assert state.channels() == []
    with pytest.raises(NoSuchRoom, match="not in #chan"):
        state.say(ROOM, "hello?", action=False, xmpp_id="x")


def test_a_part_we_asked_for_is_silent_but_a_forced_one_is_reported() -> None:
    state = make_state()
    join_channel(state, "#a")
    join_channel(state, "#b")
    assert wire(state.part("#a", "see you\nlater")) == ["PART #a :see you later"]
    assert feed(state, ":me!~me@gw PART #a :see you later") == []
    assert feed(state, ":me!~me@gw PART #b :SAPART") == [
        RoomLeft(RoomAddress(SERVER, "#b"), "SAPART")
    ]
    assert state.channels() == []


def test_prefix_modes_change_occupants_and_other_modes_show_as_a_room_line() -> None:
    state = make_state()
    join_channel(state)
    out = feed(state, ":op!o@h MODE #chan +mo-v+ob plain voice voice *!*@spam")
    assert out == [
        OccupantChanged(ROOM, occupant("plain", Role.MODERATOR, Affiliation.ADMIN), "op"),
        OccupantChanged(ROOM, occupant("voice", Role.PARTICIPANT, Affiliation.NONE), "op"),
        OccupantChanged(ROOM, occupant("voice", Role.MODERATOR, Affiliation.ADMIN), "op"),
        MessageIn(ROOM, "op sets mode +mb *!*@spam"),
    ]
    assert feed(state, ":op!o@h MODE #chan -o plain") == [
        OccupantChanged(ROOM, occupant("plain", Role.PARTICIPANT, Affiliation.NONE), "op")
    ]
    assert feed(state, ":op!o@h MODE #chan -o+h me me") == [
        OccupantChanged(ROOM, occupant("me", Role.PARTICIPANT, Affiliation.NONE), "op"),
        OccupantChanged(ROOM, occupant("me", Role.MODERATOR, Affiliation.MEMBER), "op"),
    ]
    assert feed(state, ":me!~me@gw MODE me +i") == []


def test_topic_changes_carry_who_set_them() -> None:
    state = make_state()
    join_channel(state)
    assert feed(state, ":op!o@h TOPIC #chan :\x1dnew\x1d topic") == [
        SubjectChanged(ROOM, "new topic", "op")
    ]


def test_nothing_is_said_about_a_room_before_its_names_are_complete() -> None:
    state = make_state()
    state.join("#chan", ME, None)
    out = feed(
        state,
        ":me!~me@gw JOIN #chan",
        ":early!e@h JOIN #chan",
        ":op!o@h MODE #chan +v early",
        f":{SERVER} 353 me = #chan :@op me",
        f":{SERVER} 366 me #chan :End",
    )
    [joined] = out
    assert isinstance(joined, RoomJoined)
    assert occupant("early", Role.PARTICIPANT, Affiliation.MEMBER) in joined.occupants


def test_a_join_the_server_made_by_itself_is_reported_too() -> None:
    state = make_state()
    out = feed(
        state,
        ":me!~me@gw JOIN #forwarded",
        f":{SERVER} 353 me = #forwarded :me",
        f":{SERVER} 366 me #forwarded :End",
    )
    assert [type(event) for event in out] == [RoomJoined]
    assert state.channels() == [("#forwarded", None)]


def test_set_power_maps_roles_and_affiliations_to_modes_kicks_and_bans() -> None:
    state = make_state()
    join_channel(state)
    assert wire(state.set_power("#chan", "plain", Role.MODERATOR, None)) == ["MODE #chan +o plain"]
    assert wire(state.set_power("#chan", "voice", Role.VISITOR, None)) == ["MODE #chan -v voice"]
    assert wire(state.set_power("#chan", "plain", None, Affiliation.OWNER)) == [
        "MODE #chan +q plain"
    ]
    assert wire(state.set_power("#chan", "op", None, Affiliation.MEMBER)) == [
        "MODE #chan -o+v op op"
    ]
    assert wire(state.set_power("#chan", "plain", Role.NONE, None)) == ["KICK #chan plain"]
    assert wire(state.set_power("#chan", "plain", None, Affiliation.OUTCAST)) == [
        "MODE #chan +b plain!*@*",
        "KICK #chan plain",
    ]
    assert wire(state.set_power("#chan", "absent", None, Affiliation.OUTCAST)) == [
        "MODE #chan +b absent!*@*"
    ]
    assert state.set_power("#chan", "op", Role.MODERATOR, None) == []
    with pytest.raises(NoSuchContact, match="nobody is not in #chan"):
        state.set_power("#chan", "nobody", Role.MODERATOR, None)
    with pytest.raises(NoSuchRoom, match="not in #elsewhere"):
        state.set_power("#elsewhere", "op", Role.MODERATOR, None)


def test_mode_lines_respect_the_servers_modes_per_line() -> None:
    state = make_state(features=FEATURES.with_tokens(["MODES=1"]))
    join_channel(state)
    assert wire(state.set_power("#chan", "owner", None, Affiliation.MEMBER)) == [
        "MODE #chan -q owner",
        "MODE #chan +v owner",
    ]


def test_topic_and_kick_lines_need_the_channel_joined() -> None:
    state = make_state()
    join_channel(state)
    assert wire(state.set_topic("#CHAN", "a\nb")) == ["TOPIC #chan :a b"]
    assert wire(state.set_topic("#chan", "")) == ["TOPIC #chan :"]
    assert wire(state.kick("#chan", "plain", "spam")) == ["KICK #chan plain spam"]
    assert wire(state.kick("#chan", "plain", "")) == ["KICK #chan plain"]
    with pytest.raises(NoSuchRoom):
        state.set_topic("#nope", "x")


def test_impossible_channel_names_are_refused_with_a_reason() -> None:
    state = make_state()
    with pytest.raises(NoSuchRoom, match="channel names start with # or &"):
        state.join("chan", ME, None)
    with pytest.raises(LegacyError, match="no spaces or commas"):
        state.join("#a,#b", ME, None)


def test_lost_says_so_once_and_keeps_channels_for_the_rejoin() -> None:
    state = make_state()
    join_channel(state, "#a")
    state.join("#b", ME, "key")
    assert state.lost("connection reset") == [
        Disconnected("connection reset", reconnecting=True, server=SERVER)
    ]
    assert state.lost("again") == []
    assert state.channels() == [("#a", None), ("#b", "key")]
    assert wire(state.join("#a", ME, None)) == ["JOIN #a"]


def test_casemapping_comes_from_the_server() -> None:
    ascii_server = ServerFeatures().with_tokens(["CASEMAPPING=ascii"])
    state = make_state(features=ascii_server)
    join_channel(state, "#chan", names="[x] {x} me")
    # Under ascii, [x] and {x} are two people.
    assert events(feed(state, ":[x]!x@h QUIT :bye")) == [OccupantLeft(ROOM, "[x]", "bye")]
