"""The Matrix gateway end to end: Prosody, the bridge, the session Synapse, nio people."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from nio import RoomCreateResponse, RoomSendResponse
from nio.api import RoomPreset
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq, Message

from bridge.devservers import MatrixAccount, Synapse
from plugins.matrix.addresses import MatrixGrammar, address_of_room, contact_of
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, sync_until, text_message
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_rooms_e2e import groupchat, join, self_presence
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient

LOOPBACK_ALLOWED = {"allow_private": True}
OPTIONS = {"sync_timeout_ms": 5_000}
GRAMMAR = MatrixGrammar()


async def start_matrix_bridge(start_bridge: BridgeStarter, **kwargs: Any) -> Running:
    return await start_bridge(network="matrix", options=OPTIONS, hosts=LOOPBACK_ALLOWED, **kwargs)


async def bridged_account(synapse: Synapse) -> tuple[MatrixAccount, str]:
    """A Matrix account for the XMPP user, and its password."""
    password = secrets.token_urlsafe(12)
    account = await synapse.register_user(f"bridged{secrets.token_hex(3)}", password)
    return account, password


async def register(client: XmppClient, run: Running, **fields: str) -> Iq:
    form = Form()
    form["type"] = "submit"
    for var, value in fields.items():
        form.add_field(var=var, value=value)
    iq = client.Iq()
    iq["to"] = run.jid
    iq["type"] = "set"
    iq["register"].append(form)
    return await client.iq(iq)


async def registered_user(
    xmpp_user: XmppUserFactory, run: Running, synapse: Synapse
) -> tuple[XmppClient, MatrixAccount, str]:
    """An XMPP user registered with a fresh Matrix account, their session up; its password."""
    client = await xmpp_user("mx")
    account, password = await bridged_account(synapse)
    reply = await register(
        client, run, homeserver=synapse.base_url, matrix_id=account.user_id, password=password
    )
    assert reply["type"] == "result", reply
    user = client.boundjid.bare
    await wait_until(lambda: run.gateway.sessions.session_of(user) is not None, 10, "the login")
    return client, account, password


async def logged_in_user(
    xmpp_user: XmppUserFactory, run: Running, synapse: Synapse
) -> tuple[XmppClient, MatrixAccount]:
    """An XMPP user registered with a fresh Matrix account, their session up."""
    client, account, _password = await registered_user(xmpp_user, run, synapse)
    return client, account


def room_jid(run: Running, room_id_or_alias: str) -> str:
    return f"{GRAMMAR.format(address_of_room(room_id_or_alias))}@{run.jid}"


async def shared_room(person: Any, invitee: str, **create: Any) -> str:
    created = await person.room_create(invite=[invitee], **create)
    assert isinstance(created, RoomCreateResponse), created
    return str(created.room_id)


async def say(person: Any, room_id: str, body: str) -> None:
    sent = await person.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    assert isinstance(sent, RoomSendResponse), sent


def error_of(reply: Iq) -> tuple[str, str]:
    return reply["error"]["condition"], reply["error"]["text"]


async def test_registration_stores_a_sealed_token_and_never_the_password(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client = await xmpp_user("mx")
    account, password = await bridged_account(synapse)

    reply = await register(
        client,
        run,
        homeserver=synapse.base_url,
        matrix_id=account.user_id,
        password=password,
        device_name="my gateway",
    )

    assert reply["type"] == "result", reply
    row = await run.gateway.store.registrations.get(run.jid, client.boundjid.bare)
    assert row is not None
    assert row.fields["matrix_id"] == account.user_id
    assert row.fields["homeserver"] == synapse.base_url
    assert "password" not in row.fields and "password" not in row.secrets
    assert set(row.secrets) == {"access_token", "device_id"}
    token = row.secrets["access_token"]
    assert token and row.secrets["device_id"]
    raw_rows = sqlite3.connect(run.database).execute("select * from registrations").fetchall()
    assert token not in repr(raw_rows) and password not in repr(raw_rows)


async def test_a_wrong_password_is_not_authorized(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client = await xmpp_user("mx")
    account, _password = await bridged_account(synapse)

    reply = await register(
        client, run, homeserver=synapse.base_url, matrix_id=account.user_id, password="wrong"
    )

    condition, text = error_of(reply)
    assert condition == "not-authorized"
    assert "Wrong Matrix ID or password" in text


async def test_unreachable_bad_or_forbidden_homeservers_are_named(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client = await xmpp_user("mx")
    account, password = await bridged_account(synapse)
    who = {"matrix_id": account.user_id, "password": password}

    unreachable = await register(client, run, homeserver="http://127.0.0.1:1", **who)
    bad_url = await register(client, run, homeserver="ftp://127.0.0.1", **who)

    assert error_of(unreachable)[0] == "bad-request"
    assert "could not reach http://127.0.0.1:1" in error_of(unreachable)[1]
    assert error_of(bad_url)[0] == "not-acceptable"
    assert "Homeserver URL: must be an http:// or https:// URL" in error_of(bad_url)[1]

    strict = await start_bridge(network="matrix", options={"sync_timeout_ms": 5_000})
    refused = await register(client, strict, homeserver=synapse.base_url, **who)
    assert error_of(refused)[0] == "forbidden"
    assert "hosts.allow_private" in error_of(refused)[1]


async def test_room_messages_flow_both_ways_with_nicks_and_formatting(
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
    await say(alice, room_id, "hello from matrix")

    heard = await client.wait_for(groupchat(room, "hello from matrix"))
    assert heard["from"].resource == alice.user_id.removeprefix("@").partition(":")[0]

    mark = client.mark()
    client.make_message(mto=room, mbody="*bold* move", mtype="groupchat").send()
    event = await sync_until(
        alice, text_message(room_id, account.user_id, "*bold* move"), what="the XMPP text"
    )
    assert event.formatted_body == "<strong>bold</strong> move"
    await client.wait_for(groupchat(room, "*bold* move"), after=mark)
    await wait_until(lambda: len(bodies_after(client, mark, room)) >= 1, 5, "the reflection")
    assert bodies_after(client, mark, room) == ["*bold* move"]


def bodies_after(client: XmppClient, mark: int, room: str) -> list[str]:
    return [
        str(s["body"])
        for s in client.received[mark:]
        if isinstance(s, Message) and s["type"] == "groupchat" and s["from"].bare == room
    ]


async def test_join_by_alias(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, _account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    local = f"Lobby{secrets.token_hex(3)}"
    created = await alice.room_create(
        alias=local, topic="All welcome", preset=RoomPreset.public_chat
    )
    assert isinstance(created, RoomCreateResponse), created
    room = room_jid(run, f"#{local}:{synapse.server_name}")

    mark = join(client, room, "me")

    await client.wait_for(self_presence(room), after=mark, timeout=15)
    subject = await client.wait_for(
        lambda s: isinstance(s, Message) and s["from"].bare == room and bool(s["subject"]),
        after=mark,
    )
    assert subject["subject"] == "All welcome"
    await say(alice, created.room_id, "you found us")
    await client.wait_for(groupchat(room, "you found us"), after=mark)


async def test_direct_chat_both_ways(
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
    contact = f"{GRAMMAR.format(contact_of(alice.user_id))}@{run.jid}"

    await say(alice, room_id, "psst")
    heard = await client.wait_for(
        lambda s: isinstance(s, Message) and s["type"] == "chat" and s["body"] == "psst"
    )
    assert str(heard["from"]) == contact

    client.make_message(mto=contact, mbody="hi alice", mtype="chat").send()
    await sync_until(alice, text_message(room_id, account.user_id, "hi alice"), what="the reply")


def joined(sync: Any, room_id: str, user_id: str) -> bool:
    room = sync.rooms.join.get(room_id)
    events = room.timeline.events if room is not None else []
    return any(
        getattr(e, "state_key", None) == user_id and getattr(e, "membership", None) == "join"
        for e in events
    )


async def test_a_restart_delivers_what_was_said_meanwhile_exactly_once(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    first = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, first, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id)
    room = room_jid(first, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)
    await say(alice, room_id, "before")
    await client.wait_for(groupchat(room, "before"))

    await first.bridge.stop()
    await say(alice, room_id, "while you were away")
    await say(alice, room_id, "and this too")
    mark = client.mark()
    await start_matrix_bridge(start_bridge, spec=first.spec, database=first.database)

    await client.wait_for(groupchat(room, "and this too"), after=mark, timeout=20)
    heard = bodies_after(client, mark, room)
    assert heard.count("while you were away") == 1, heard
    assert heard.count("and this too") == 1, heard


async def test_a_burst_beyond_the_sync_timeline_is_filled_in_from_the_gap(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    short_timeline = {**OPTIONS, "timeline_limit": 3}
    first = await start_bridge(network="matrix", options=short_timeline, hosts=LOOPBACK_ALLOWED)
    client, account = await logged_in_user(xmpp_user, first, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id)
    room = room_jid(first, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    await first.bridge.stop()
    burst = [f"line {number}" for number in range(12)]
    for body in burst:
        await say(alice, room_id, body)
    mark = client.mark()
    await start_bridge(
        network="matrix",
        options=short_timeline,
        hosts=LOOPBACK_ALLOWED,
        spec=first.spec,
        database=first.database,
    )

    await client.wait_for(groupchat(room, burst[-1]), after=mark, timeout=20)
    assert [b for b in bodies_after(client, mark, room) if b in burst] == burst
