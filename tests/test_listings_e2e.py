"""Rooms and contacts the network already has reach the XMPP client once, without typing JIDs."""

from __future__ import annotations

import asyncio

from slixmpp.stanza import Message, Presence

from bridge.addressing import ContactAddress, RoomAddress
from bridge.events import ContactListed, RoomListed
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.test_gateway_e2e import registered_user
from tests.xmpp_client import XmppClient


async def round_trip(client: XmppClient, gateway: str) -> None:
    """A ping to the gateway: what it sent before the answer has arrived by then."""
    ping = client.Iq()
    ping["to"], ping["type"] = gateway, "get"
    ping.enable("ping")
    await client.iq(ping)


async def test_a_listed_room_is_offered_once_and_a_listed_contact_asks_to_subscribe(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await registered_user(xmpp_user, run)
    user = alice.boundjid.bare
    room_jid = f"#elsewhere%loop.example@{run.jid}"
    bob_jid = f"bob%loop.example@{run.jid}"

    def invitations() -> list[Message]:
        return [
            s
            for s in alice.received
            if isinstance(s, Message) and s.xml.find("{jabber:x:conference}x") is not None
        ]

    run.gateway.on_event(user, RoomListed(RoomAddress("loop.example", "#elsewhere"), "Elsewhere"))
    await alice.wait_for(lambda s: s in invitations())
    assert invitations()[0].xml.find("{jabber:x:conference}x").get("jid") == room_jid  # type: ignore[union-attr]

    run.gateway.on_event(user, ContactListed(ContactAddress("loop.example", "bob"), "Bob"))
    await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "subscribe" and str(s["from"]) == bob_jid
    )
    await run.gateway.listings.offer(
        user, RoomListed(RoomAddress("loop.example", "#elsewhere"), "Elsewhere")
    )
    await round_trip(alice, run.jid)
    assert len(invitations()) == 1, "offered once"


async def test_a_room_and_a_contact_listed_together_are_both_remembered(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await registered_user(xmpp_user, run)
    user = alice.boundjid.bare
    room = RoomListed(RoomAddress("loop.example", "#together"), "Together")
    contact = ContactListed(ContactAddress("loop.example", "carol"), "Carol")
    await asyncio.gather(
        run.gateway.listings.offer(user, room), run.gateway.listings.offer(user, contact)
    )
    await round_trip(alice, run.jid)
    mark = len(alice.received)
    await run.gateway.listings.offer(user, room)
    await run.gateway.listings.offer(user, contact)
    await round_trip(alice, run.jid)
    again = [s for s in alice.received[mark:] if isinstance(s, Message | Presence) and s["from"]]
    offers = [s for s in again if isinstance(s, Message) or s["type"] == "subscribe"]
    assert offers == [], "each was offered once"
