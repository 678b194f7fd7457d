"""Roster contacts' presence: ISON polls, MONITOR, shared channels, and what ends it."""

from __future__ import annotations

from bridge.addressing import ContactAddress, ServerAddress
from bridge.events import ContactPresence, MessageIn, Show
from plugins.irc import watch
from plugins.irc.client_state import Output
from plugins.irc.protocol.isupport import ServerFeatures
from tests.irc.client_helpers import FEATURES, SERVER, events, feed, join_channel, make_state, wire

MONITOR_2 = FEATURES.with_tokens(["MONITOR=2"])


def presence(nick: str, show: Show, status: str = "") -> ContactPresence:
    return ContactPresence(ContactAddress(SERVER, nick), show, status)


def presences(outputs: list[Output]) -> list[ContactPresence]:
    return [output for output in outputs if isinstance(output, ContactPresence)]


def test_without_monitor_ison_tells_who_is_online_once_per_change() -> None:
    state = make_state()
    assert wire(state.watch(["bob", "Carol"])) == ["ISON bob Carol"]
    assert feed(state, f":{SERVER} 303 me :BOB") == [
        presence("bob", Show.AVAILABLE),
        presence("Carol", Show.OFFLINE),
    ]
    assert wire(state.poll_contacts()) == ["ISON bob Carol"]
    assert feed(state, f":{SERVER} 303 me :bob") == []
    state.poll_contacts()
    assert feed(state, f":{SERVER} 303 me :carol") == [
        presence("bob", Show.OFFLINE),
        presence("Carol", Show.AVAILABLE),
    ]


def test_sharing_a_channel_means_online_and_quitting_offline() -> None:
    state = make_state()
    join_channel(state, names="me bob")
    out = state.watch(["bob"])
    assert events(out) == [presence("bob", Show.AVAILABLE)]
    assert presences(feed(state, ":bob!b@h QUIT :gone")) == [presence("bob", Show.OFFLINE)]
    assert presences(feed(state, ":bob!b@h JOIN #chan")) == [presence("bob", Show.AVAILABLE)]
    assert presences(feed(state, ":bob!b@h NICK bobby")) == [presence("bob", Show.OFFLINE)]
    assert presences(feed(state, ":bobby!b@h NICK bob")) == [presence("bob", Show.AVAILABLE)]
    assert presences(feed(state, ":bob!b@h PART #chan")) == []  # parted, not gone


def test_away_of_a_watched_contact_is_told_once_by_the_watch() -> None:
    state = make_state()
    join_channel(state, names="me bob alice")
    state.watch(["bob"])
    assert feed(state, ":bob!b@h AWAY :lunch") == [presence("bob", Show.AWAY, "lunch")]
    assert presences(feed(state, ":bob!b@h PRIVMSG #chan :still here")) == []
    assert feed(state, ":bob!b@h AWAY") == [presence("bob", Show.AVAILABLE)]
    # Someone not watched is still reported as before.
    assert feed(state, ":alice!a@h AWAY :brb") == [presence("alice", Show.AWAY, "brb")]


def test_monitor_is_used_up_to_its_limit_then_ison() -> None:
    state = make_state(features=MONITOR_2)
    assert wire(state.watch(["a", "b", "c"])) == ["MONITOR + a,b", "ISON c"]
    assert feed(state, f":{SERVER} 730 me :a!u@h,b!u@h") == [
        presence("a", Show.AVAILABLE),
        presence("b", Show.AVAILABLE),
    ]
    assert feed(state, f":{SERVER} 731 me :b") == [presence("b", Show.OFFLINE)]
    assert wire(state.poll_contacts()) == ["ISON c"]
    assert wire(state.watch(["c"])) == ["MONITOR - a,b"]
    assert feed(state, f":{SERVER} 730 me :a!u@h") == []


def test_a_full_monitor_list_falls_back_to_ison() -> None:
    state = make_state(features=FEATURES.with_tokens(["MONITOR"]))
    assert wire(state.watch(["a", "b"])) == ["MONITOR + a,b"]
    out = feed(state, f":{SERVER} 734 me 1 b :Monitor list is full.")
    assert wire(out) == ["ISON b"]
    assert wire(state.poll_contacts()) == ["ISON b"]


def test_an_ison_the_user_typed_is_theirs_to_read() -> None:
    assert feed(make_state(), f":{SERVER} 303 me :bob") == [
        MessageIn(ServerAddress(SERVER), "bob", notice=True)
    ]


def test_a_lost_connection_takes_everyone_offline_once() -> None:
    state = make_state()
    state.watch(["bob", "carol"])
    feed(state, f":{SERVER} 303 me :bob")
    assert events(state.lost("ping timeout"))[1:] == [presence("bob", Show.OFFLINE)]


def test_watching_is_bounded_in_nicks_lines_and_unanswered_polls() -> None:
    state = make_state(features=ServerFeatures())
    nicks = [f"n{number:04d}" for number in range(watch.MAX_WATCHED + 50)]
    lines = wire(state.watch(nicks))
    asked = [nick for line in lines for nick in line.split()[1:]]
    assert asked == nicks[: watch.MAX_WATCHED]
    assert all(len(line) < 512 for line in lines)
    # A server that never answers ISON is not asked forever.
    for _ in range(10):
        state.poll_contacts()
    assert state.poll_contacts() == []
