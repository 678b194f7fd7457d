"""A room's archive (XEP-0313) queried by a real client through Prosody."""

from __future__ import annotations

from typing import Any

from slixmpp import JID
from slixmpp.stanza import Message

from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.test_rooms_e2e import groupchat, join, room_jid, self_presence
from tests.xmpp_client import XmppClient


async def archive_of(client: XmppClient, room: str, **query: Any) -> list[Message]:
    """Every archived message of *room*, paged by slixmpp's own MAM client, 10 at a time."""
    pages = client.plugin["xep_0313"].iterate(jid=JID(room), rsm={"max": 10}, **query)
    return [message async for message in pages]


def stanza_ids(messages: list[Message]) -> list[str]:
    return [message["mam_result"]["id"] for message in messages]


async def test_the_room_archive_pages_through_what_the_user_saw_with_the_same_ids(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(run, "#logs")
    mark = join(alice, room, "alice")
    await alice.wait_for(self_presence(room), after=mark)
    for number in range(1, 24):
        run.world.say("#logs", "bob" if number % 2 else "carol", f"line {number}")
    await alice.wait_for(groupchat(room, "line 23"), after=mark)
    own = alice.make_message(mto=room, mbody="/me reads the logs", mtype="groupchat")
    own["id"] = "alice-1"
    own.send()
    await alice.wait_for(groupchat(room, "/me reads the logs"), after=mark)
    live = [
        s["stanza_id"]["id"]
        for s in alice.received[mark:]
        if isinstance(s, Message) and s["body"] and s["from"].bare == room
    ]

    archived = await archive_of(alice, room)

    assert stanza_ids(archived) == live
    bodies = [m["mam_result"]["forwarded"]["stanza"]["body"] for m in archived]
    assert bodies == [f"line {n}" for n in range(1, 24)] + ["/me reads the logs"]
    last = archived[-1]["mam_result"]["forwarded"]
    assert last["stanza"]["from"] == JID(f"{room}/alice")
    assert last["stanza"]["origin_id"]["id"] == "alice-1"
    assert last["delay"]["stamp"] is not None
    newest_first = await archive_of(alice, room, reverse=True)
    assert stanza_ids(newest_first) == live[::-1]
    carols = await archive_of(alice, room, with_jid=JID(f"{room}/carol"))
    assert stanza_ids(carols) == live[1:23:2]


async def test_an_unknown_id_and_a_stranger_get_what_the_archive_holds_for_them(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(run, "#private")
    mark = join(alice, room, "alice")
    await alice.wait_for(self_presence(room), after=mark)
    run.world.say("#private", "bob", "for alice only")
    await alice.wait_for(groupchat(room, "for alice only"), after=mark)

    query = alice.make_iq_set(ito=room)
    query["mam"]["rsm"]["after"] = "no-such-message"
    error = await alice.iq(query)
    assert error["type"] == "error"
    assert error["error"]["condition"] == "item-not-found"
    assert "no-such-message" in error["error"]["text"]

    stranger = await xmpp_user("mallory")
    fin = await stranger.plugin["xep_0313"].retrieve(jid=JID(room))
    assert fin["mam"]["results"] == []
    assert fin["mam_fin"]["complete"] == "true"
