"""A network's past room messages (HistoryIn) go to the archive only, and only once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import RoomAddress
from bridge.events import HistoryIn, MessageIn
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.loopnet import SERVER
from tests.test_mam_e2e import archive_of
from tests.test_rooms_e2e import groupchat, join, room_jid, self_presence
from tests.waiting import wait_until


def undelayed(room: str, body: str) -> Callable[[StanzaBase], bool]:
    """The live message *body*, not its copy in the history sent on joining."""
    said = groupchat(room, body)
    return lambda s: said(s) and s.xml.find("{urn:xmpp:delay}delay") is None


async def test_backfilled_messages_are_archived_unsent_and_a_live_copy_adds_no_row(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    user = alice.boundjid.bare
    room = room_jid(run, "#old")
    address = RoomAddress(SERVER, "#old")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    past = tuple(
        MessageIn(address, body, nick="bob", legacy_id=f"old-{n}", when=yesterday)
        for n, body in enumerate(["said yesterday", "said again"])
    )
    mark = alice.mark()

    run.gateway.on_event(user, HistoryIn(address, past))

    async def archived() -> list[Message]:
        return await archive_of(alice, room)

    async def both_archived() -> bool:
        return len(await archived()) == len(past)

    await wait_until(both_archived, 10, "the backfilled messages in the archive")
    assert not [s for s in alice.received[mark:] if isinstance(s, Message) and s["body"]]
    kept = await archived()
    forwarded = [m["mam_result"]["forwarded"] for m in kept]
    assert [f["stanza"]["body"] for f in forwarded] == ["said yesterday", "said again"]
    assert all(abs(f["delay"]["stamp"] - yesterday) < timedelta(seconds=1) for f in forwarded)

    mark = join(alice, room, "alice")
    await alice.wait_for(self_presence(room), after=mark)
    run.world.say("#old", "bob", "said again", legacy_id="old-1")
    live = await alice.wait_for(undelayed(room, "said again"), after=mark)
    run.world.say("#old", "bob", "said today", legacy_id="new-1")
    await alice.wait_for(groupchat(room, "said today"), after=mark)

    rows = await archived()
    assert [m["mam_result"]["forwarded"]["stanza"]["body"] for m in rows] == [
        "said yesterday",
        "said again",
        "said today",
    ]
    assert live["stanza_id"]["id"] == kept[1]["mam_result"]["id"]
