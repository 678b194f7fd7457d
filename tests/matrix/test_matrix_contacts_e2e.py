"""Matrix people as XMPP contacts end to end: the user's own direct messages from another
Matrix client, presence, and new direct chats offered to the roster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nio import PresenceGetResponse, PresenceSetResponse
from slixmpp.stanza import Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import Synapse
from bridge.own_messages import FALLBACK_PREFIX
from plugins.matrix.addresses import contact_of
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, sync_until, text_message
from tests.matrix.test_matrix_e2e import (
    GRAMMAR,
    joined,
    logged_in_user,
    say,
    shared_room,
    start_matrix_bridge,
)
from tests.synapse_fixtures import MatrixUserFactory
from tests.waiting import wait_until


def contact_jid(run: Running, user_id: str) -> str:
    return f"{GRAMMAR.format(contact_of(user_id))}@{run.jid}"


def chat_body(stanza: StanzaBase) -> Any:
    return isinstance(stanza, Message) and stanza["type"] == "chat" and stanza["body"]


def chat_saying(body: str) -> Callable[[StanzaBase], bool]:
    return lambda stanza: bool(chat_body(stanza) == body)


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


async def test_the_users_xmpp_away_is_their_matrix_presence_and_syncs_keep_it(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    """The gateway's /sync must not mark the user online again (Matrix's set_presence)."""
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, is_direct=True)
    await sync_until(alice, lambda sync: joined(sync, room_id, account.user_id), what="the join")

    async def presence_is(state: str) -> bool:
        answer = await alice.get_presence(account.user_id)
        assert isinstance(answer, PresenceGetResponse), answer
        return bool(answer.presence == state)

    await wait_until(lambda: presence_is("online"), 10, "the user online on Matrix")
    client.send_presence(pshow="away", pstatus="out")
    await wait_until(lambda: presence_is("unavailable"), 10, "the user unavailable on Matrix")

    for body in ("one", "two"):  # each answered sync is followed by a new one
        start = client.mark()
        await say(alice, room_id, body)
        await client.wait_for(chat_saying(body), after=start)
    assert await presence_is("unavailable")

    client.send_presence()
    await wait_until(lambda: presence_is("online"), 10, "the user back online on Matrix")


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
