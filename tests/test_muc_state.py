"""The per-(user, room) state machine: when a presence needs the network, and what it knows."""

from datetime import UTC, datetime, timedelta

from bridge.addressing import RoomAddress
from bridge.events import Affiliation, Occupant, Role, RoomJoined
from bridge.muc.joins import history_window
from bridge.muc.state import (
    HistoryRequest,
    JoinStep,
    LeaveStep,
    PendingJoin,
    RoomRegistry,
    RoomState,
)

ROOM = RoomAddress("irc.libera.chat", "#chan")
PHONE = "alice@example.com/phone"
LAPTOP = "alice@example.com/laptop"


def joined(nick: str = "alice", *occupants: Occupant) -> RoomJoined:
    return RoomJoined(ROOM, nick, occupants)


def test_first_join_asks_the_network_and_a_second_waits() -> None:
    state = RoomState(ROOM)
    assert state.request_join(PendingJoin(PHONE, "alice")) is JoinStep.START
    assert state.request_join(PendingJoin(LAPTOP, "alice")) is JoinStep.WAIT
    answered = state.complete_join(joined("alice", Occupant("bob")))
    assert {j.resource for j in answered} == {PHONE, LAPTOP}
    assert state.resources == {PHONE, LAPTOP}
    assert set(state.occupants) == {"bob"}


def test_join_when_already_in_the_room_is_answered_from_memory() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice_"))
    assert state.request_join(PendingJoin(LAPTOP, "alice")) is JoinStep.ANSWER
    assert state.nick == "alice_"
    assert state.resources == {PHONE, LAPTOP}


def test_joined_resource_asking_another_nick_is_a_nick_change() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice"))
    assert state.request_join(PendingJoin(PHONE, "alicia")) is JoinStep.CHANGE_NICK
    assert state.nick == "alice"


def test_own_nick_is_not_listed_among_occupants() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice", Occupant("alice"), Occupant("bob")))
    assert set(state.occupants) == {"bob"}


def test_only_the_last_leave_leaves_the_network() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.request_join(PendingJoin(LAPTOP, "alice"))
    state.complete_join(joined())
    assert state.leave(PHONE) is LeaveStep.ONE_OF_SEVERAL
    assert state.leave(PHONE) is LeaveStep.NOT_IN_ROOM
    assert state.leave(LAPTOP) is LeaveStep.LAST


def test_rename_keeps_power_and_follows_own_nick() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice", Occupant("bob", Role.MODERATOR, Affiliation.ADMIN)))
    renamed = state.rename("bob", "robert")
    assert renamed == Occupant("robert", Role.MODERATOR, Affiliation.ADMIN)
    assert set(state.occupants) == {"robert"}
    state.rename("alice", "alicia")
    assert state.nick == "alicia"


def test_own_power_change_updates_own_role() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice"))
    state.put_occupant(Occupant("alice", Role.MODERATOR, Affiliation.OWNER))
    assert state.own_occupant() == Occupant("alice", Role.MODERATOR, Affiliation.OWNER)
    assert "alice" not in state.occupants


def test_an_echo_is_recognised_once() -> None:
    state = RoomState(ROOM)
    state.expect_echo("m1")
    assert state.take_echo("m1")
    assert not state.take_echo("m1")
    assert not state.take_echo(None)


def test_echo_memory_is_bounded() -> None:
    state = RoomState(ROOM)
    for number in range(1000):
        state.expect_echo(f"m{number}")
    assert not state.take_echo("m0")
    assert state.take_echo("m999")
    assert len(state.awaiting_echo) < 1000


def test_link_loss_empties_the_room_but_keeps_the_nick_for_rejoin() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice", Occupant("bob")))
    assert state.lose_link(rejoining=False) == {PHONE}
    assert not state.joined and not state.occupants and state.nick == "alice"
    assert state.request_join(PendingJoin(PHONE, "alice")) is JoinStep.START


def test_a_network_rejoin_lets_the_resources_that_were_in_back_in() -> None:
    state = RoomState(ROOM)
    state.request_join(PendingJoin(PHONE, "alice"))
    state.complete_join(joined("alice", Occupant("bob")))
    state.lose_link(rejoining=True)
    assert not state.joined and not state.resources
    assert [join.resource for join in state.complete_join(joined("alice"))] == [PHONE]
    assert state.resources == {PHONE}


def test_registry_forgets_a_resource_everywhere_and_drops_empty_users() -> None:
    registry = RoomRegistry()
    other = RoomAddress("irc.libera.chat", "#other")
    for room in (ROOM, other):
        state = registry.ensure("alice@example.com", room)
        state.request_join(PendingJoin(PHONE, "alice"))
        state.complete_join(RoomJoined(room, "alice", ()))
    registry.forget_resource("alice@example.com", PHONE)
    assert all(not s.resources for s in registry.rooms_of("alice@example.com"))
    registry.drop("alice@example.com", ROOM)
    registry.drop("alice@example.com", other)
    assert registry.get("alice@example.com", other) is None
    assert list(registry.rooms_of("alice@example.com")) == []


AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_history_window_defaults_and_caps_to_the_configured_maximum() -> None:
    assert history_window(HistoryRequest(), 20, AT) == (20, None)
    assert history_window(HistoryRequest(max_stanzas=500), 20, AT) == (20, None)
    assert history_window(HistoryRequest(max_stanzas=3), 20, AT) == (3, None)


def test_history_window_zero_means_none() -> None:
    assert history_window(HistoryRequest(max_stanzas=0), 20, AT) is None
    assert history_window(HistoryRequest(max_chars=0), 20, AT) is None


def test_history_window_takes_the_later_of_since_and_seconds() -> None:
    early = AT - timedelta(hours=2)
    assert history_window(HistoryRequest(seconds=60), 20, AT) == (20, AT - timedelta(seconds=60))
    request = HistoryRequest(seconds=60, since=early)
    assert history_window(request, 20, AT) == (20, AT - timedelta(seconds=60))
    assert history_window(HistoryRequest(since=early), 20, AT) == (20, early)
