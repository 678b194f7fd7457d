"""Matrix ids ⇄ JID local parts: the table of DESIGN §2, case kept, every id reversible."""

from __future__ import annotations

from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slixmpp import JID

from bridge.addressing import (
    AddressError,
    AddressGrammar,
    ContactAddress,
    LegacyAddress,
    RoomAddress,
    ServerAddress,
)
from bridge.routing import ContactPlace, RoomPlace, locate
from plugins.matrix.addresses import (
    MatrixGrammar,
    address_of_room,
    contact_of,
    decode_case,
    encode_case,
    room_id_of,
    user_id_of,
)

GRAMMAR = MatrixGrammar()


@pytest.mark.parametrize(
    ("address", "node"),
    [
        (RoomAddress("matrix.org", "!Abc"), "!^abc%matrix.org"),
        (RoomAddress("", "!Abc"), "!^abc"),
        (RoomAddress("matrix.org", "#Room"), "#^room%matrix.org"),
        (ContactAddress("matrix.org", "alice"), "alice%matrix.org"),
        (ServerAddress("matrix.org"), "matrix.org"),
        (RoomAddress("example.org:8448", "!x"), "!x%example.org\\3a8448"),
        (RoomAddress("s.org", "#a^b"), "#a^^b%s.org"),
        (RoomAddress("s.org", "#100%club"), "#100^%club%s.org"),
        (ContactAddress("s.org", "#odd"), "^#odd%s.org"),
        (RoomAddress("s.org", "#caf\u00c9 room"), "#caf^\u00e9\\20room%s.org"),
    ],
)
def test_design_table_both_ways(address: LegacyAddress, node: str) -> None:
    assert GRAMMAR.format(address) == node
    assert GRAMMAR.parse(node) == address


def test_formatted_nodes_survive_case_folding() -> None:
    node = GRAMMAR.format(RoomAddress("Matrix.ORG", "!AbCdEf"))
    assert node == node.lower()
    assert GRAMMAR.parse(node) == RoomAddress("Matrix.ORG", "!AbCdEf")


@pytest.mark.parametrize(
    ("node", "address"),
    [
        ("@alice%matrix.org", ContactAddress("matrix.org", "alice")),
        ("%matrix.org", ServerAddress("matrix.org")),
        ("#100%club%s.org", RoomAddress("s.org", "#100%club")),
        ("!ABC%s.org", RoomAddress("s.org", "!ABC")),
    ],
)
def test_lenient_spellings_a_user_may_type(node: str, address: LegacyAddress) -> None:
    assert GRAMMAR.parse(node) == address


@pytest.mark.parametrize(
    ("node", "complaint"),
    [
        ("", "no local part"),
        ("#room", "needs its server"),
        ("@alice", "needs its server"),
        ("alice%", "no server"),
        ("!%s.org", "only a prefix"),
        ("!", "only a prefix"),
        ("@%s.org", "no user"),
        ("room^", r"lone '\^'"),
    ],
)
def test_bad_nodes_say_what_is_wrong(node: str, complaint: str) -> None:
    with pytest.raises(AddressError, match=complaint):
        GRAMMAR.parse(node)


@pytest.mark.parametrize(
    "address",
    [
        RoomAddress("s.org", "nosigil"),
        RoomAddress("", "#alias"),
        RoomAddress("s.org", "!"),
        ContactAddress("", "alice"),
        ServerAddress(""),
    ],
)
def test_addresses_that_cannot_exist_are_refused(address: LegacyAddress) -> None:
    with pytest.raises(AddressError):
        GRAMMAR.format(address)


def test_grammar_has_the_core_interface() -> None:
    assert GRAMMAR.fixed_server is None
    assert set(GRAMMAR.room_prefixes) == {"!", "#"}


def test_the_core_reads_matrix_jids_after_slixmpp_lowered_them() -> None:
    # Network.grammar is typed AddressGrammar; the core only calls parse/format on it.
    grammar = cast(AddressGrammar, GRAMMAR)
    jid = JID(f"{GRAMMAR.format(RoomAddress('', '!AbC'))}@matrix.gw/Nick")
    assert locate(jid, grammar) == RoomPlace(RoomAddress("", "!AbC"), "Nick")
    contact = ContactAddress("Matrix.org", "alice")
    assert locate(JID(f"{GRAMMAR.format(contact)}@matrix.gw"), grammar) == ContactPlace(contact)


def test_matrix_ids_to_addresses_and_back() -> None:
    assert address_of_room("!Abc:matrix.org") == RoomAddress("matrix.org", "!Abc")
    assert address_of_room("!Abc") == RoomAddress("", "!Abc")
    assert address_of_room("#r:s.org:8448") == RoomAddress("s.org:8448", "#r")
    assert room_id_of(RoomAddress("", "!Abc")) == "!Abc"
    assert room_id_of(RoomAddress("matrix.org", "#r")) == "#r:matrix.org"
    assert contact_of("@alice:matrix.org") == ContactAddress("matrix.org", "alice")
    assert user_id_of(ContactAddress("matrix.org", "alice")) == "@alice:matrix.org"


@pytest.mark.parametrize("text", ["#alias", "room", "!", "#:s", "!a:", ""])
def test_bad_room_ids_are_refused(text: str) -> None:
    with pytest.raises(AddressError):
        address_of_room(text)


@pytest.mark.parametrize("text", ["alice:s", "@alice", "@:s", "@a:", ""])
def test_bad_user_ids_are_refused(text: str) -> None:
    with pytest.raises(AddressError):
        contact_of(text)


# ----------------------------------------------------------------------------- properties

_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)
_LOCAL = _TEXT.filter(lambda text: ":" not in text)
_SERVER = st.from_regex(r"[A-Za-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True)


@given(st.sampled_from("!#"), _LOCAL, _SERVER)
def test_any_room_with_a_server_round_trips(sigil: str, local: str, server: str) -> None:
    room = RoomAddress(server, sigil + local)
    assert GRAMMAR.parse(GRAMMAR.format(room)) == room
    assert address_of_room(room_id_of(room)) == room


@given(_LOCAL)
def test_any_serverless_room_id_round_trips(local: str) -> None:
    room = RoomAddress("", "!" + local)
    assert GRAMMAR.parse(GRAMMAR.format(room)) == room


@given(_LOCAL, _SERVER)
def test_any_user_round_trips(local: str, server: str) -> None:
    contact = ContactAddress(server, local)
    assert GRAMMAR.parse(GRAMMAR.format(contact)) == contact
    assert contact_of(user_id_of(contact)) == contact


@given(_TEXT)
def test_any_server_round_trips(server: str) -> None:
    assert GRAMMAR.parse(GRAMMAR.format(ServerAddress(server))) == ServerAddress(server)


@given(st.from_regex(r"[!#][A-Za-z0-9_=+/-]{1,40}", fullmatch=True), _SERVER)
def test_ascii_ids_survive_the_xmpp_servers_lower_casing(name: str, server: str) -> None:
    node = GRAMMAR.format(RoomAddress(server, name))
    assert GRAMMAR.parse(node.lower()) == RoomAddress(server, name)


@given(_TEXT)
def test_case_encoding_is_reversible(text: str) -> None:
    assert decode_case(encode_case(text)) == text
    assert decode_case(encode_case(text, guard_sigil=True)) == text


def test_labels_are_the_ids_people_know() -> None:
    grammar = MatrixGrammar()
    assert grammar.label(RoomAddress("matrix.org", "!Abc")) == "!Abc:matrix.org"
    assert grammar.label(RoomAddress("", "!Abc")) == "!Abc"
    assert grammar.label(ContactAddress("matrix.org", "alice")) == "@alice:matrix.org"
