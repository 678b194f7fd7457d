"""MucService admin and other iqs, network loss and shutdown (333, 332)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from slixmpp import JID
from slixmpp.stanza import Iq

from bridge.addressing import ContactAddress
from bridge.errors import Forbidden
from bridge.events import (
    Affiliation,
    Connected,
    ContactPresence,
    Disconnected,
    JoinRoom,
    KickOccupant,
    MessageIn,
    OccupantJoined,
    Role,
    SetOccupantPower,
    Show,
)
from tests.muc_service_fakes import (
    CAROL,
    GATEWAY,
    LAPTOP,
    PHONE,
    ROOM,
    ROOM_JID,
    USER,
    Gateway,
    admin_iq,
    codes,
    join,
    join_presence,
    make_gateway,
    summary,
)


@pytest.fixture
def gw() -> Gateway:
    return make_gateway()


# ----------------------------------------------------------------------------- iq


async def test_admin_kick_and_power_changes_reach_the_network(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="none", reason="spam"), ROOM)
    await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="moderator"), ROOM)
    await gw.muc.on_iq(
        admin_iq(PHONE, "set", jid=f"bob%irc.libera.chat@{GATEWAY}", affiliation="member"), ROOM
    )
    assert gw.applied[-3:] == [
        KickOccupant(ROOM, "carol", "spam"),
        SetOccupantPower(ROOM, "carol", role=Role.MODERATOR),
        SetOccupantPower(ROOM, "bob", affiliation=Affiliation.MEMBER),
    ]
    assert [(s["type"], s["id"]) for s in gw.take()] == [("result", "admin1")] * 3


async def test_admin_refusal_is_an_iq_error(gw: Gateway) -> None:
    await join(gw)
    gw.sessions.session.failures[KickOccupant] = Forbidden("You need channel operator status.")
    assert await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="none"), ROOM)
    [refusal] = gw.take()
    assert refusal["type"] == "error" and refusal["error"]["condition"] == "forbidden"
    assert refusal["error"]["text"] == "You need channel operator status."


async def test_admin_bad_role_names_the_allowed_ones(gw: Gateway) -> None:
    await join(gw)
    await gw.muc.on_iq(admin_iq(PHONE, "set", nick="carol", role="king"), ROOM)
    [refusal] = gw.take()
    assert (
        refusal["error"]["condition"] == "bad-request" and "moderator" in refusal["error"]["text"]
    )


async def test_admin_list_by_role(gw: Gateway) -> None:
    await join(gw)
    assert await gw.muc.on_iq(admin_iq(PHONE, "get", role="moderator"), ROOM)
    [result] = gw.take()
    items = result.xml.findall("{http://jabber.org/protocol/muc#admin}query/{*}item")
    assert [(i.get("nick"), i.get("jid")) for i in items] == [
        ("bob", f"bob%irc.libera.chat@{GATEWAY}")
    ]


async def test_self_ping_answers_only_a_joined_resource_under_its_nick(gw: Gateway) -> None:
    await join(gw)
    answers = []
    for resource, nick in ((PHONE, "alice"), (LAPTOP, "alice"), (PHONE, "ghost")):
        iq = Iq(stream=None)
        iq["from"], iq["to"], iq["type"], iq["id"] = resource, f"{ROOM_JID}/{nick}", "get", "p1"
        iq.enable("ping")
        assert await gw.muc.on_iq(iq, ROOM)
        [answer] = gw.take()
        answers.append(
            (answer["type"], answer["error"]["condition"] if answer["type"] == "error" else "")
        )
    assert answers == [("result", ""), ("error", "not-acceptable"), ("error", "not-acceptable")]


async def test_other_iqs_and_disco_are_left_to_the_gateway(gw: Gateway) -> None:
    iq = Iq(stream=None)
    iq["from"], iq["to"], iq["type"] = PHONE, ROOM_JID, "get"
    ElementTree.SubElement(iq.xml, "{http://jabber.org/protocol/disco#info}query")
    assert not await gw.muc.on_iq(iq, ROOM)
    identities, features = gw.muc.room_disco_info(USER, ROOM)
    assert identities == [("conference", "text", "#chan%irc.libera.chat")]
    assert "http://jabber.org/protocol/muc" in features


# ----------------------------------------------------------------------------- link loss


async def test_network_loss_sends_333_and_a_rejoin_joins_again(gw: Gateway) -> None:
    await join(gw)
    assert gw.muc.on_event(USER, Disconnected("Connection reset", reconnecting=True)) is False
    [gone] = gw.take()
    assert summary(gone) == ("presence/unavailable", f"{ROOM_JID}/alice", PHONE)
    assert codes(gone) == {110, 333} and gone["status"] == "Connection reset"
    assert gw.muc.joined_rooms(USER) == [(ROOM, "alice")]
    gw.muc.on_event(USER, MessageIn(ROOM, "lost", nick="bob"))
    assert gw.take() == []
    await gw.muc.on_presence(join_presence(PHONE, "alice"), ROOM)
    assert [a for a in gw.applied if isinstance(a, JoinRoom)] == [JoinRoom(ROOM, "alice")] * 2


async def test_network_loss_on_another_server_leaves_the_room_alone(gw: Gateway) -> None:
    await join(gw)
    gw.muc.on_event(USER, Disconnected("gone", server="irc.oftc.net"))
    assert gw.take() == []


async def test_shutdown_sends_332_to_every_resource(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    gw.muc.user_gone(USER)
    sent = gw.take()
    assert sorted(str(s["to"]) for s in sent) == [LAPTOP, PHONE]
    assert all(codes(s) == {110, 332} and s["type"] == "unavailable" for s in sent)
    assert gw.muc.joined_rooms(USER) == []


async def test_forgotten_resource_gets_nothing_more(gw: Gateway) -> None:
    await join(gw, PHONE)
    await join(gw, LAPTOP)
    gw.muc.resource_gone(JID(PHONE))
    gw.muc.on_event(USER, MessageIn(ROOM, "hi", nick="bob"))
    assert [str(s["to"]) for s in gw.take()] == [LAPTOP]


def test_events_that_are_not_about_rooms_are_declined(gw: Gateway) -> None:
    contact = ContactAddress("irc.libera.chat", "bob")
    assert not gw.muc.on_event(USER, MessageIn(contact, "pm", nick="bob"))
    assert not gw.muc.on_event(USER, ContactPresence(contact, Show.AWAY))
    assert not gw.muc.on_event(USER, Connected())
    assert gw.muc.on_event(USER, OccupantJoined(ROOM, CAROL))
