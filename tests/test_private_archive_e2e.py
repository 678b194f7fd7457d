"""Optional archive of private conversations, queried with MAM at the contact's JID."""

from __future__ import annotations

from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Message

from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.test_mam_e2e import archive_of
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient


async def register_archiving(client: XmppClient, run: Running, archive: bool) -> None:
    form = Form()
    form["type"] = "submit"
    form.add_field(var="username", value="alice")
    form.add_field(var="password", value="pw")
    form.add_field(var="archive_private", value="1" if archive else "0")
    iq = client.Iq()
    iq["to"], iq["type"] = run.jid, "set"
    iq["register"].append(form)
    assert (await client.iq(iq))["type"] == "result"


async def test_private_chats_are_archived_when_the_user_asks(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    user = alice.boundjid.bare
    await register_archiving(alice, run, archive=True)
    await wait_until(lambda: user in run.world.sessions, 10, "no login")
    bob = f"bob%loop.example@{run.jid}"
    alice.make_message(mto=bob, mbody="hello bob", mtype="chat").send()
    await wait_until(lambda: (user, "bob", "hello bob") in run.world.private, 5, "not sent")
    run.world.whisper("bob", user, "hello alice")
    live = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "hello alice")
    archived = await archive_of(alice, bob)
    forwarded = [m["mam_result"]["forwarded"]["stanza"] for m in archived]
    assert [m["body"] for m in forwarded] == ["hello bob", "hello alice"]
    assert forwarded[0]["from"].bare == user
    assert str(forwarded[1]["from"]) == bob
    assert archived[1]["mam_result"]["id"] == live["stanza_id"]["id"]


async def test_private_chats_are_not_archived_by_default(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    user = alice.boundjid.bare
    await register_archiving(alice, run, archive=False)
    await wait_until(lambda: user in run.world.sessions, 10, "no login")
    run.world.whisper("bob", user, "off the record")
    await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "off the record")
    assert await archive_of(alice, f"bob%loop.example@{run.jid}") == []
