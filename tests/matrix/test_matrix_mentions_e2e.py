"""Mentions from XMPP end to end: "alice: hi" in a shared room notifies alice on Matrix."""

from __future__ import annotations

from bridge.devservers import Synapse
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, sync_until
from tests.matrix.test_matrix_e2e import logged_in_user, room_jid, shared_room, start_matrix_bridge
from tests.matrix.test_matrix_relations_e2e import body_is, nick_of, timeline_event
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_rooms_e2e import join, self_presence


async def test_addressing_a_matrix_person_by_nick_mentions_them(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id)
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)
    addressed = f"{nick_of(alice)}: hi"

    client.make_message(mto=room, mbody=addressed, mtype="groupchat").send()

    raw = await sync_until(alice, timeline_event(room_id, body_is(account.user_id, addressed)))
    content = raw["content"]
    assert content["m.mentions"] == {"user_ids": [alice.user_id]}
    pill = f'<a href="https://matrix.to/#/{alice.user_id}">{nick_of(alice)}</a>'
    assert content["formatted_body"] == f"{pill}: hi"
    assert content["format"] == "org.matrix.custom.html"
