"""MODE lines, NAMES prefixes, and the XEP-0045 roles and affiliations behind them."""

import pytest

from bridge.events import Affiliation, Role
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.modes import (
    ModeChange,
    NamesEntry,
    ParsedModes,
    Standing,
    format_modes,
    modes_for_affiliation,
    modes_for_role,
    parse_modes,
    parse_names,
    parse_names_entry,
    standing,
)

FEATURES = ServerFeatures().with_tokens(["PREFIX=(qaohv)~&@%+", "CHANMODES=beI,k,l,imnst"])
RFC = ServerFeatures()


def test_prefix_and_key_modes_take_arguments_in_order() -> None:
    parsed = parse_modes("+o-v+k", ["alice", "bob", "secret"], FEATURES)
    assert parsed.changes == (
        ModeChange(True, "o", "alice"),
        ModeChange(False, "v", "bob"),
        ModeChange(True, "k", "secret"),
    )
    assert not parsed.missing_args


def test_argument_groups() -> None:
    parsed = parse_modes("+lnb-lb+e", ["10", "*!*@x", "*!*@y", "e!*@*"], FEATURES)
    assert parsed.changes == (
        ModeChange(True, "l", "10"),  # C: an argument when set
        ModeChange(True, "n"),  # D: never
        ModeChange(True, "b", "*!*@x"),  # A: always
        ModeChange(False, "l"),  # C: none when unset
        ModeChange(False, "b", "*!*@y"),
        ModeChange(True, "e", "e!*@*"),
    )


def test_missing_arguments_drop_the_change_and_are_flagged() -> None:
    parsed = parse_modes("+ov", ["alice"], FEATURES)
    assert parsed.changes == (ModeChange(True, "o", "alice"),)
    assert parsed.missing_args
    assert parse_modes("+o", [], FEATURES) == ParsedModes((), missing_args=True)


def test_hostile_mode_strings_never_raise() -> None:
    assert parse_modes("", ["x"], FEATURES).changes == ()
    assert parse_modes("+-+", [], FEATURES).changes == ()
    # No sign means adding; unknown modes take no argument.
    assert parse_modes("nZ", [], FEATURES).changes == (ModeChange(True, "n"), ModeChange(True, "Z"))


def test_user_modes_take_no_arguments() -> None:
    parsed = parse_modes("+iwo", [], FEATURES, channel=False)
    assert [change.mode for change in parsed.changes] == ["i", "w", "o"]
    assert not parsed.missing_args


def test_format_modes_round_trips() -> None:
    changes = [
        ModeChange(False, "q", "al"),
        ModeChange(False, "a", "al"),
        ModeChange(True, "o", "al"),
        ModeChange(True, "n"),
    ]
    params = format_modes(changes)
    assert params == ("-qa+on", "al", "al", "al")
    assert parse_modes(params[0], params[1:], FEATURES).changes == tuple(changes)
    assert format_modes([]) == ()


@pytest.mark.parametrize(
    ("modes", "affiliation", "role"),
    [
        ("q", Affiliation.OWNER, Role.MODERATOR),
        ("a", Affiliation.ADMIN, Role.MODERATOR),
        ("o", Affiliation.ADMIN, Role.MODERATOR),
        ("h", Affiliation.MEMBER, Role.MODERATOR),
        ("v", Affiliation.MEMBER, Role.PARTICIPANT),
        ("", Affiliation.NONE, Role.PARTICIPANT),
        ("vo", Affiliation.ADMIN, Role.MODERATOR),
        ("vhq", Affiliation.OWNER, Role.MODERATOR),
        ("Yv", Affiliation.MEMBER, Role.PARTICIPANT),
    ],
)
def test_standing_takes_the_highest_mode(modes: str, affiliation: Affiliation, role: Role) -> None:
    assert standing(modes) == Standing(affiliation, role)


def test_role_requests() -> None:
    assert modes_for_role(Role.MODERATOR, "al", "", FEATURES) == [ModeChange(True, "o", "al")]
    assert modes_for_role(Role.MODERATOR, "al", "h", FEATURES) == []
    assert modes_for_role(Role.PARTICIPANT, "al", "", FEATURES) == [ModeChange(True, "v", "al")]
    assert modes_for_role(Role.PARTICIPANT, "al", "v", FEATURES) == []
    assert modes_for_role(Role.PARTICIPANT, "al", "ov", FEATURES) == [ModeChange(False, "o", "al")]
    assert modes_for_role(Role.VISITOR, "al", "", FEATURES) == [ModeChange(False, "v", "al")]
    assert modes_for_role(Role.VISITOR, "al", "vo", FEATURES) == [
        ModeChange(False, "o", "al"),
        ModeChange(False, "v", "al"),
    ]


def test_role_none_is_a_kick() -> None:
    with pytest.raises(ValueError, match="kick al"):
        modes_for_role(Role.NONE, "al", "", FEATURES)


def test_affiliation_requests() -> None:
    def request(affiliation: Affiliation, held: str, features: ServerFeatures = FEATURES) -> str:
        return " ".join(format_modes(modes_for_affiliation(affiliation, "al", held, features)))

    assert request(Affiliation.OWNER, "") == "+q al"
    assert request(Affiliation.OWNER, "", RFC) == "+o al"
    assert request(Affiliation.OWNER, "q") == ""
    assert request(Affiliation.ADMIN, "qv") == "-q+o al al"
    assert request(Affiliation.ADMIN, "o") == ""
    assert request(Affiliation.MEMBER, "") == "+v al"
    assert request(Affiliation.MEMBER, "oh") == "-oh+v al al al"
    assert request(Affiliation.NONE, "qohv") == "-qohv al al al al"
    assert request(Affiliation.NONE, "") == ""


def test_modes_the_server_lacks_are_not_touched() -> None:
    # 'h' held on a server without halfops is stale state, not something to remove.
    assert modes_for_affiliation(Affiliation.NONE, "al", "hv", RFC) == [
        ModeChange(False, "v", "al")
    ]


def test_outcast_is_a_ban() -> None:
    with pytest.raises(ValueError, match="ban al"):
        modes_for_affiliation(Affiliation.OUTCAST, "al", "", FEATURES)


def test_names_with_multi_prefix_and_userhost() -> None:
    assert parse_names("@+alice bob ~&carol!c@host  ", FEATURES) == [
        NamesEntry("alice", frozenset("ov")),
        NamesEntry("bob", frozenset()),
        NamesEntry("carol", frozenset("qa"), "carol!c@host"),
    ]


def test_names_entries_without_a_nick_are_skipped() -> None:
    assert parse_names_entry("@+", FEATURES) is None
    assert parse_names_entry("", FEATURES) is None
    assert parse_names("@ + alice", FEATURES) == [NamesEntry("alice", frozenset())]


def test_names_symbols_depend_on_the_server() -> None:
    # '%' is not a prefix on an RFC server, so it is part of the nick.
    assert parse_names_entry("%odd", RFC) == NamesEntry("%odd", frozenset())
