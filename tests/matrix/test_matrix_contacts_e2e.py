"""Matrix people as XMPP contacts end to end: the user's own direct messages from another
Matrix client, presence, and new direct chats offered to the roster."""

from __future__ import annotations

from typing import Any

from nio import PresenceSetResponse
from slixmpp.stanza import Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import Synapse
from bridge.own_messages import FALLBACK_PREFIX
from plugins.matrix.addresses import contact_of
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, MatrixUserFactory, sync_until, text_message
from tests.matrix.test_matrix_e2e import (
    GRAMMAR,
    joined,
    logged_in_user,
    say,
    shared_room,
    start_matrix_bridge,
)


def contact_jid(run: Running, user_id: str) -> str:
    return f"{GRAMMAR.format(contact_of(user_id))}@{run.jid}"


def chat_body(stanza: StanzaBase) -> Any:
    return isinstance(stanza, Message) and stanza["type"] == "chat" and stanza["body"]


async def test_own_direct_message_from_another_client_reaches_xmpp_marked_as_own(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    phone = await matrix_client(account)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, is_direct=True)
    await sync_until(alice, lambda sync: joined(sync, room_id, account.user_id), what="the join")
    contact = contact_jid(run, alice.user_id)
    client.make_message(mto=contact, mbody="from xmpp", mtype="chat").send()
    await sync_until(alice, text_message(room_id, account.user_id, "from xmpp"), what="it")
    start = client.mark()

    await say(phone, room_id, "from my phone")

    own = await client.wait_for(
        lambda s: bool(chat_body(s)) and s["body"].startswith(FALLBACK_PREFIX), after=start
    )
    assert own["body"] == f"{FALLBACK_PREFIX}from my phone"  # not the gateway's own "from xmpp"
    assert str(own["from"]) == contact


async def test_a_direct_contacts_matrix_presence_shows_as_their_xmpp_presence(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, is_direct=True)
    await sync_until(alice, lambda sync: joined(sync, room_id, account.user_id), what="the join")
    contact = contact_jid(run, alice.user_id)

    assert isinstance(await alice.set_presence("unavailable", "at lunch"), PresenceSetResponse)
    away = await client.wait_for(
        lambda s: isinstance(s, Presence) and s["from"] == contact and s["show"] == "away"
    )
    assert away["status"] == "at lunch"

    assert isinstance(await alice.set_presence("offline"), PresenceSetResponse)
    await client.wait_for(
        lambda s: isinstance(s, Presence) and s["from"] == contact and s["type"] == "unavailable"
    )


async def test_a_new_direct_chat_offers_its_person_as_a_contact(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))

    await shared_room(alice, account.user_id, is_direct=True)

    contact = contact_jid(run, alice.user_id)
    await client.wait_for(
        lambda s: isinstance(s, Presence) and s["from"] == contact and s["type"] == "subscribe"
    )
