"""Invitations and room names from XMPP reach Matrix: Prosody + the bridge + Synapse."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Message

from bridge.devservers import Synapse
from bridge.invitations import NS_MUC_USER
from bridge.room_config import ROOM_NAME_VAR
from plugins.matrix.addresses import contact_of
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, sync_until
from tests.matrix.test_matrix_e2e import (
    GRAMMAR,
    logged_in_user,
    room_jid,
    shared_room,
    start_matrix_bridge,
)
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_rooms_e2e import join, self_presence


def mediated_invite(to: str) -> ET.Element:
    x = ET.Element(f"{{{NS_MUC_USER}}}x")
    invite = ET.SubElement(x, f"{{{NS_MUC_USER}}}invite", {"to": to})
    ET.SubElement(invite, f"{{{NS_MUC_USER}}}reason").text = "tea time"
    return x


async def test_a_mediated_invitation_invites_the_matrix_person(
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
    room_id = await shared_room(alice, account.user_id, name="tea")
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    invitation = client.make_message(mto=room)
    invitation.append(mediated_invite(f"{GRAMMAR.format(contact_of(bob.user_id))}@{run.jid}"))
    invitation.send()

    await sync_until(bob, lambda sync: room_id in sync.rooms.invite, what="the invitation")


async def test_only_people_of_the_network_can_be_invited(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room = room_jid(run, await shared_room(alice, account.user_id, name="tea"))
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    mark = client.mark()
    invitation = client.make_message(mto=room)
    invitation.append(mediated_invite("romeo@montague.example"))
    invitation.send()

    refusal = await client.wait_for(
        lambda s: isinstance(s, Message) and s["type"] == "error", after=mark
    )
    assert "only this network's people can be invited" in refusal["error"]["text"]


async def test_the_owner_form_renames_the_matrix_room(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    levels = {"events": {"m.room.name": 0}}  # any member may rename
    room_id = await shared_room(alice, account.user_id, name="tea", power_level_override=levels)
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    get = client.Iq()
    get["to"], get["type"] = room, "get"
    get.enable("mucowner_query")
    offered = (await client.iq(get))["mucowner_query"]["form"]
    assert ROOM_NAME_VAR in offered.get_fields()
    submitted = Form()
    submitted["type"] = "submit"
    submitted.add_field(var=ROOM_NAME_VAR, value="Garden")
    set_iq = client.Iq()
    set_iq["to"], set_iq["type"] = room, "set"
    set_iq["mucowner_query"].append(submitted)
    answer = await client.iq(set_iq)
    assert answer["type"] == "result", answer

    def renamed(_sync: Any) -> bool:
        known = alice.rooms.get(room_id)
        return known is not None and known.name == "Garden"

    await sync_until(alice, renamed, what="the new room name")
