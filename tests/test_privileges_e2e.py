"""Contacts and rooms in the user's client, end to end: a Prosody that grants the gateway
XEP-0356 privileges (mod_privilege, started here) and the session's plain Prosody."""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from slixmpp.stanza import Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import ContactAddress
from bridge.app import Bridge
from bridge.devservers import ComponentSpec, Prosody
from bridge.privileges import NS_BOOKMARKS, NS_CONFERENCE, NS_PUBSUB, Via
from bridge.secrets import generate_key
from tests.bridge_fixture import LINK_TIMEOUT, BridgeStarter, Running, bridge_config
from tests.conftest import XmppUserFactory
from tests.loopnet import WORLDS, World
from tests.test_rooms_e2e import room_jid
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient

PRIVILEGED_DOMAIN = "priv.localhost"
GRANTS_TIMEOUT = 10.0


@pytest.fixture(scope="module")
async def privileged_prosody(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Prosody]:
    """A second Prosody whose one component holds roster, message, presence and pubsub grants."""
    spec = ComponentSpec(f"gw.{PRIVILEGED_DOMAIN}", secrets.token_urlsafe(16))
    workdir = tmp_path_factory.mktemp("privileged-prosody")
    async with Prosody(workdir, PRIVILEGED_DOMAIN, [spec], privileged=True) as server:
        yield server


@pytest.fixture(scope="module")
async def privileged_run(
    privileged_prosody: Prosody, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    """The bridge attached to the privileged Prosody, once the server's grants have arrived."""
    world = f"world-{secrets.token_hex(4)}"
    spec = privileged_prosody.components[0]
    database = tmp_path_factory.mktemp("privileged-bridge") / "bridge.db"
    options = {"world": world, "needs_registration": False}
    bridge = Bridge(
        bridge_config(privileged_prosody, spec, database, options),
        {"XMPP_BRIDGE_KEY": generate_key()},
    )
    await bridge.start()
    try:
        gateway = bridge.gateways[0]
        await asyncio.wait_for(gateway.link.up.wait(), LINK_TIMEOUT)
        await wait_until(
            lambda: gateway.privileges.writes_bookmarks(f"anyone@{PRIVILEGED_DOMAIN}"),
            GRANTS_TIMEOUT,
            "the privileged Prosody's <privilege/> advertisement",
        )
        yield Running(bridge, gateway, WORLDS.get(world, World()), spec, database)
    finally:
        await bridge.stop()


class Connect(Protocol):
    async def __call__(self, name: str) -> XmppClient: ...


@pytest.fixture
async def privileged_user(privileged_prosody: Prosody) -> AsyncIterator[Connect]:
    """Logs in fresh users of the privileged Prosody; all leave when the test ends."""
    clients: list[XmppClient] = []

    async def connect(name: str) -> XmppClient:
        local = f"{name}{secrets.token_hex(3)}"
        client = XmppClient(f"{local}@{PRIVILEGED_DOMAIN}/test", "any password")
        clients.append(client)
        await client.start(privileged_prosody.c2s_port)
        return client

    yield connect
    for client in clients:
        await client.stop()


# ---------------------------------------------------------------------- what the user's
# own account holds, asked by the user's own client


async def bookmarks(client: XmppClient) -> dict[str, ET.Element]:
    """The user's XEP-0402 bookmarks: room JID → <conference/>."""
    iq = client.Iq()
    iq["type"], iq["to"] = "get", client.boundjid.bare
    pubsub = ET.SubElement(iq.xml, f"{{{NS_PUBSUB}}}pubsub")
    ET.SubElement(pubsub, f"{{{NS_PUBSUB}}}items", node=NS_BOOKMARKS)
    reply = await client.iq(iq)
    if reply["type"] == "error":
        assert reply["error"]["condition"] == "item-not-found", reply
        return {}
    found: dict[str, ET.Element] = {}
    for item in reply.xml.iter(f"{{{NS_PUBSUB}}}item"):
        conference = item.find(f"{{{NS_BOOKMARKS}}}conference")
        assert conference is not None, ET.tostring(item)
        found[item.get("id", "")] = conference
    return found


async def roster(client: XmppClient) -> dict[str, dict[str, Any]]:
    iq = client.Iq()
    iq["type"] = "get"
    iq.enable("roster")
    reply = await client.iq(iq)
    return {str(jid): item for jid, item in reply["roster"]["items"].items()}


def contact_jid(run: Running, nick: str) -> str:
    return run.gateway.jid_of(ContactAddress("loop.example", nick))


def presence_from(origin: str, kind: str) -> Any:
    def match(stanza: StanzaBase) -> bool:
        return isinstance(stanza, Presence) and stanza["type"] == kind and stanza["from"] == origin

    return match


# ---------------------------------------------------------------------- privileged server


async def test_a_room_in_the_roster_becomes_an_autojoin_bookmark_and_leaves_with_it(
    privileged_run: Running, privileged_user: Connect
) -> None:
    alice = await privileged_user("alice")
    room = room_jid(privileged_run, "#bookmarked")
    alice.send_presence(pto=room, ptype="subscribe")
    await alice.wait_for(presence_from(room, "subscribed"))

    async def bookmarked() -> bool:
        return room in await bookmarks(alice)

    await wait_until(bookmarked, 10, f"{room} in the user's bookmarks")
    conference = (await bookmarks(alice))[room]
    assert conference.get("autojoin") in ("true", "1")
    assert conference.get("name") == "#bookmarked"

    alice.send_presence(pto=room, ptype="unsubscribe")  # its answer the server keeps to itself

    async def gone() -> bool:
        return room not in await bookmarks(alice)

    await wait_until(gone, 10, f"{room} out of the user's bookmarks")


async def test_a_contact_goes_straight_into_the_users_roster_and_out_again(
    privileged_run: Running, privileged_user: Connect
) -> None:
    alice = await privileged_user("alice")
    user, bob = alice.boundjid.bare, contact_jid(privileged_run, "bob")
    privileges = privileged_run.gateway.privileges
    assert await privileges.add_contact(user, bob, "Bob", ["Loop"]) is Via.ROSTER
    item = (await roster(alice))[bob]
    assert (item["name"], item["groups"], item["subscription"]) == ("Bob", ["Loop"], "both")
    assert not [s for s in alice.received if presence_from(bob, "subscribe")(s)]
    assert await privileges.remove_contact(user, bob) is Via.ROSTER
    assert bob not in await roster(alice)


async def test_a_bookmark_added_by_the_gateway_keeps_the_nick(
    privileged_run: Running, privileged_user: Connect
) -> None:
    alice = await privileged_user("alice")
    user, room = alice.boundjid.bare, room_jid(privileged_run, "#nick")
    privileges = privileged_run.gateway.privileges
    assert await privileges.add_bookmark(user, room, "#nick", "ally") is Via.BOOKMARKS
    conference = (await bookmarks(alice))[room]
    assert conference.findtext(f"{{{NS_BOOKMARKS}}}nick") == "ally"
    assert conference.get("autojoin") in ("false", "0")
    assert await privileges.remove_bookmark(user, room) is Via.BOOKMARKS
    assert room not in await bookmarks(alice)
    assert await privileges.remove_bookmark(user, room) is Via.NOTHING, "already gone"


# ---------------------------------------------------------------------- plain server


async def test_without_privileges_a_contact_asks_for_a_subscription(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    user, bob = alice.boundjid.bare, contact_jid(run, "bob")
    mark = alice.mark()
    assert await run.gateway.privileges.add_contact(user, bob, "Bob") is Via.SUBSCRIPTION
    request = await alice.wait_for(presence_from(bob, "subscribe"), after=mark)
    assert request.xml.findtext("{http://jabber.org/protocol/nick}nick") == "Bob"

    async def subscription_is(*states: str) -> bool:
        return (await roster(alice)).get(bob, {}).get("subscription", "none") in states

    await wait_until(lambda: subscription_is("both"), 10, "the client accepting bob")
    mark = alice.mark()
    assert await run.gateway.privileges.remove_contact(user, bob) is Via.SUBSCRIPTION
    await alice.wait_for(presence_from(bob, "unsubscribe"), after=mark)
    await wait_until(lambda: subscription_is("none"), 10, "both subscriptions with bob ended")


async def test_without_privileges_a_bookmark_is_an_invitation(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    user, room = alice.boundjid.bare, room_jid(run, "#invited")
    assert await run.gateway.privileges.add_bookmark(user, room, "#invited") is Via.INVITATION

    def invited(stanza: StanzaBase) -> bool:
        x = stanza.xml.find(f"{{{NS_CONFERENCE}}}x") if isinstance(stanza, Message) else None
        return x is not None and x.get("jid") == room

    message = await alice.wait_for(invited)
    assert message["from"] == run.jid
    assert room in message["body"]
    assert await run.gateway.privileges.remove_bookmark(user, room) is Via.NOTHING


def test_a_privileged_server_needs_mod_privilege_and_says_where_it_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bridge.devservers.prosody.MOD_PRIVILEGE", tmp_path / "absent.lua")
    with pytest.raises(Exception, match="prosody-modules"):
        Prosody(tmp_path, privileged=True)
