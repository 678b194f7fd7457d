"""Rooms and direct chats a Matrix account already has show up in the XMPP client at once."""

from __future__ import annotations

from nio import JoinResponse
from slixmpp.stanza import Message

from bridge.devservers import Synapse
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory
from tests.matrix.test_matrix_e2e import (
    bridged_account,
    register,
    room_jid,
    shared_room,
    start_matrix_bridge,
)
from tests.synapse_fixtures import MatrixUserFactory


async def test_rooms_joined_before_registering_are_offered_to_the_client(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    account, password = await bridged_account(synapse)
    veteran = await matrix_client(account)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, name="old friends")
    assert isinstance(await veteran.join(room_id), JoinResponse)

    run = await start_matrix_bridge(start_bridge)
    client = await xmpp_user("vet")
    reply = await register(
        client, run, homeserver=synapse.base_url, matrix_id=account.user_id, password=password
    )
    assert reply["type"] == "result", reply
    invitation = await client.wait_for(
        lambda s: isinstance(s, Message) and s.xml.find("{jabber:x:conference}x") is not None,
        timeout=15,
    )
    offered = invitation.xml.find("{jabber:x:conference}x")
    assert offered is not None and offered.get("jid") == room_jid(run, room_id)
