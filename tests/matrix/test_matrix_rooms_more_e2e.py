"""Bans, room invitations and room names between XMPP and Matrix: Prosody + the bridge + Synapse."""

from __future__ import annotations

from nio import JoinResponse, RoomCreateResponse, RoomGetStateEventResponse, RoomPutStateResponse
from slixmpp.stanza import Message

from bridge.devservers import Synapse
from plugins.matrix.addresses import contact_of
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory
from tests.matrix.test_matrix_e2e import (
    GRAMMAR,
    logged_in_user,
    room_jid,
    shared_room,
    start_matrix_bridge,
)
from tests.matrix.test_matrix_relations_e2e import nick_of
from tests.muc_admin import admin_set
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_rooms_e2e import groupchat, join, self_presence


async def test_the_xmpp_user_with_power_bans_a_matrix_person(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    bob = await matrix_client(await matrix_user("bob"))
    levels = {"users": {account.user_id: 50}}  # the creator has power by room version 12
    created = await alice.room_create(
        invite=[account.user_id, bob.user_id], power_level_override=levels
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    assert isinstance(await bob.join(room_id), JoinResponse)
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    answer = await admin_set(client, room, nick=nick_of(bob), affiliation="outcast")

    assert answer["type"] == "result", answer
    state = await alice.room_get_state_event(room_id, "m.room.member", bob.user_id)
    assert isinstance(state, RoomGetStateEventResponse), state
    assert state.content["membership"] == "ban"


async def test_an_invitation_to_a_room_is_told_with_the_room_name(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    inviter = f"{GRAMMAR.format(contact_of(alice.user_id))}@{run.jid}"
    mark = client.mark()

    room_id = await shared_room(alice, account.user_id, name="Garden Party")

    notice = await client.wait_for(
        lambda s: isinstance(s, Message) and s["from"].bare == inviter and room_id in s["body"],
        after=mark,
        timeout=15,
    )
    assert "invites you" in notice["body"]
    assert "(Garden Party)" in notice["body"]


async def test_a_room_renamed_on_matrix_is_told_in_the_room(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, name="tea")
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    renamed = await alice.room_put_state(room_id, "m.room.name", {"name": "Garden"})
    assert isinstance(renamed, RoomPutStateResponse), renamed

    await client.wait_for(groupchat(room, f"{nick_of(alice)} named the room “Garden”"))
