"""The core end to end: a real Prosody, the bridge attached as a component, slixmpp users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from slixmpp import JID
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase

from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient


def _iq(client: XmppClient, to: str, kind: str = "get") -> Iq:
    iq = client.Iq()
    iq["to"] = to
    iq["type"] = kind
    return iq


class HasJid(Protocol):
    @property
    def jid(self) -> str: ...


async def register(
    client: XmppClient, run: HasJid, username: str = "alice", password: str = "s3cret-pw"
) -> Iq:
    form = Form()
    form["type"] = "submit"
    form.add_field(var="username", value=username)
    form.add_field(var="password", value=password)
    iq = _iq(client, run.jid, "set")
    iq["register"].append(form)
    return await client.iq(iq)


async def registered_user(xmpp_user: XmppUserFactory, run: Running) -> XmppClient:
    """A fresh XMPP user, registered with the gateway and logged in on the legacy side."""
    client = await xmpp_user("alice")
    await register(client, run)
    user = client.boundjid.bare
    await wait_until(lambda: user in run.world.sessions, 10, "no login")
    return client


def _from(jid: str, kind: str | None = None) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Presence | Message | Iq)
            and str(stanza["from"]) == jid
            and (kind is None or stanza["type"] == kind)
        )

    return match


async def test_disco_shows_a_gateway_with_registration_and_commands(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    info = await alice.plugin["xep_0030"].get_info(jid=JID(run.jid), timeout=10)
    identities = {(c, t) for c, t, _lang, _name in info["disco_info"]["identities"]}
    assert ("gateway", "loop") in identities
    assert ("conference", "text") in identities
    features = set(info["disco_info"]["features"])
    assert {"jabber:iq:register", "http://jabber.org/protocol/commands"} <= features
    items = await alice.plugin["xep_0030"].get_items(
        jid=JID(run.jid), node="http://jabber.org/protocol/commands", timeout=10
    )
    nodes = {node for _jid, node, _name in items["disco_items"]["items"]}
    assert {"register", "configure", "who"} <= nodes
    assert "shutdown-world" not in nodes, "admin-only commands are hidden from non-admins"


async def test_ping_and_version_answer(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    ping = _iq(alice, run.jid)
    ping.enable("ping")
    assert (await alice.iq(ping))["type"] == "result"
    version = await alice.plugin["xep_0092"].get_version(JID(run.jid), timeout=10)
    assert version["software_version"]["name"] == "xmpp-bridge"


async def test_registration_subscribes_and_logs_in(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    query = _iq(alice, run.jid)
    query.enable("register")
    offered = await alice.iq(query)
    assert offered["type"] == "result"
    fields = offered["register"]["form"].get_fields()
    assert {"username", "password", "stay_connected"} <= set(fields)
    assert fields["password"]["type"] == "text-private"

    assert (await register(alice, run))["type"] == "result"
    await alice.wait_for(_from(run.jid, "subscribe"))
    await wait_until(lambda: alice.boundjid.bare in run.world.logins, 10, "no login")

    query = _iq(alice, run.jid)
    query.enable("register")
    again = await alice.iq(query)
    assert again["register"]["registered"]
    assert again["register"]["form"].get_fields()["username"]["value"] == "alice"
    assert not again["register"]["form"].get_fields()["password"]["value"]


async def test_bad_registrations_get_errors_that_say_what_is_wrong(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    refused = await register(alice, run, password="wrong")
    assert refused["error"]["condition"] == "not-authorized"
    assert "refused that password" in refused["error"]["text"]

    missing = await register(alice, run, username="")
    assert missing["type"] == "error"
    assert missing["error"]["condition"] == "not-acceptable"
    assert "Login name" in missing["error"]["text"]

    empty = _iq(alice, run.jid, "set")
    empty.enable("register")
    bare = await alice.iq(empty)
    assert bare["error"]["condition"] == "bad-request"
    assert alice.boundjid.bare not in run.world.logins


async def test_allowlist_refuses_other_users(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(registration={"allow": ["someone@elsewhere.example"]})
    alice = await xmpp_user("alice")
    reply = await register(alice, run)
    assert reply["error"]["condition"] == "not-allowed"
    assert reply["error"]["text"]


async def test_second_registration_updates_without_a_second_subscription(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    assert (await register(alice, run))["type"] == "result"
    await alice.wait_for(_from(run.jid, "subscribe"))
    mark = alice.mark()
    is_subscribe = _from(run.jid, "subscribe")
    assert (await register(alice, run, username="alice2"))["type"] == "result"
    stored = await run.gateway.book.load(alice.boundjid.bare)
    assert stored is not None and stored.model_dump()["username"] == "alice2"
    assert not [s for s in alice.received[mark:] if is_subscribe(s)]


async def test_remove_logs_out_and_forgets(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    user = alice.boundjid.bare
    await register(alice, run)
    await wait_until(lambda: user in run.world.logins, 10, "no login")
    contact = f"bob%loop.example@{run.jid}"
    alice.send_presence(pto=contact, ptype="subscribe")
    await alice.wait_for(_from(contact, "subscribed"))
    remove = _iq(alice, run.jid, "set")
    remove["register"]["remove"] = True
    assert (await alice.iq(remove))["type"] == "result"
    await wait_until(lambda: user in run.world.logouts, 10, "no logout")
    await alice.wait_for(_from(run.jid, "unsubscribed"))
    await alice.wait_for(_from(contact, "unsubscribed"))
    assert await run.gateway.book.load(user) is None


async def test_presence_drives_login_and_logout(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice", resource="one")
    user = alice.boundjid.bare
    await register(alice, run)
    await alice.wait_for(_from(run.jid, "subscribe"))
    await wait_until(lambda: run.gateway.sessions.session_of(user) is not None, 10, "no login")
    second = await xmpp_user(account=JID(user).user, resource="two")
    await second.stop()
    assert run.gateway.sessions.session_of(user) is not None, "one resource left: stay"
    await alice.stop()
    await wait_until(lambda: user in run.world.logouts, 10, "last resource gone: logout")
    again = await xmpp_user(account=JID(user).user, resource="three")
    await wait_until(lambda: run.world.logins.count(user) == 2, 10, "back online: login")
    del again


async def test_a_contact_in_the_roster_shows_whether_they_are_online(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    run.world.arrive("#somewhere", "bob")
    alice = await registered_user(xmpp_user, run)
    bob = f"bob%loop.example@{run.jid}"
    mark = alice.mark()
    alice.send_presence(pto=bob, ptype="subscribe")
    online = await alice.wait_for(
        lambda s: isinstance(s, Presence) and str(s["from"]) == bob and s["type"] == "available",
        after=mark,
    )
    assert online["type"] == "available"


async def test_the_server_jid_lists_rooms_page_by_page(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    for number in range(7):
        run.world.room(f"#room{number}").topic = f"topic {number}"
    alice = await xmpp_user("alice")
    server = f"loop.example@{run.jid}"
    seen: list[str] = []
    after: str | None = None
    while True:
        iq = _iq(alice, server)
        iq["disco_items"]["rsm"]["max"] = "3"
        if after:
            iq["disco_items"]["rsm"]["after"] = after
        reply = await alice.iq(iq)
        assert reply["type"] == "result", reply
        page = [str(jid) for jid, _node, _name in reply["disco_items"]["items"]]
        if not page:
            break
        assert len(page) <= 3
        assert reply["disco_items"]["rsm"]["count"] == "7"
        seen += page
        after = reply["disco_items"]["rsm"]["last"]
    assert sorted(seen) == sorted(f"#room{n}%loop.example@{run.jid}" for n in range(7))
    assert len(seen) == 7, "no room twice"
