"""Per-user room settings and the operator's admin commands, end to end through Prosody."""

from __future__ import annotations

from pathlib import Path

from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Message, Presence

from bridge.addressing import RoomAddress
from bridge.app import Bridge
from bridge.config import load_config
from bridge.devservers import ComponentSpec, Prosody
from bridge.secrets import generate_key
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.test_rooms_e2e import groupchat, join, room_jid, self_presence
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient


async def joined(client: XmppClient, run: Running, name: str) -> str:
    room = room_jid(run, name)
    await client.wait_for(self_presence(room), after=join(client, room, "alice"))
    return room


def leave(client: XmppClient, room: str) -> None:
    client.send_presence(pto=f"{room}/alice", ptype="unavailable")


async def test_a_persistent_room_keeps_its_history_while_the_user_is_away(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = await joined(alice, run, "#stay")
    done = await alice.command(room, "configure", persistent="1")
    assert done["command"]["status"] == "completed", done
    leave(alice, room)
    await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "unavailable" and s["from"].bare == room
    )
    assert "alice" in run.world.room("#stay").members, "the gateway stays in the room"
    run.world.say("#stay", "bob", "said while alice was away")
    mark = join(alice, room, "alice")
    await alice.wait_for(groupchat(room, "said while alice was away"), after=mark)


async def test_adding_a_room_to_the_roster_makes_it_persistent(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = await joined(alice, run, "#roster")
    alice.send_presence(pto=room, ptype="subscribe")
    await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "subscribed" and str(s["from"]) == room
    )
    user, address = alice.boundjid.bare, RoomAddress("loop.example", "#roster")
    await wait_until(lambda: run.gateway.rooms.is_persistent(user, address), 5, "not persistent")
    leave(alice, room)
    await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "unavailable" and s["from"].bare == room
    )
    assert "alice" in run.world.room("#roster").members, "the gateway stays in the room"


async def test_the_owner_form_turns_history_off(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice", resource="one")
    room = await joined(alice, run, "#private")
    get = alice.Iq()
    get["to"], get["type"] = room, "get"
    get.enable("mucowner_query")
    form = (await alice.iq(get))["mucowner_query"]["form"]
    assert {"persistent", "record_history"} <= set(form.get_fields())
    submitted = Form()
    submitted["type"] = "submit"
    submitted.add_field(var="record_history", value="0")
    set_iq = alice.Iq()
    set_iq["to"], set_iq["type"] = room, "set"
    set_iq["mucowner_query"].append(submitted)
    assert (await alice.iq(set_iq))["type"] == "result"
    run.world.say("#private", "bob", "not for the archive")
    await alice.wait_for(groupchat(room, "not for the archive"))
    second = await xmpp_user(account=alice.boundjid.user, resource="two")
    mark = join(second, room, "alice")
    await second.wait_for(  # the subject comes last, after any history
        lambda s: (
            isinstance(s, Message)
            and s["from"].bare == room
            and s.xml.find("{jabber:client}subject") is not None
        ),
        after=mark,
    )
    assert not [s for s in second.received[mark:] if groupchat(room, "not for the archive")(s)]


async def test_an_admin_disconnects_a_user(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False}, admins=["root@localhost"])
    alice = await xmpp_user("alice")
    await joined(alice, run, "#admin")
    user = alice.boundjid.bare
    root = await xmpp_user(account="root")
    done = await root.command(run.jid, "disconnect-user", jid=user)
    assert done["command"]["status"] == "completed", done
    assert user in run.world.logouts
    refused = await alice.command(run.jid, "disconnect-user", jid="root@localhost")
    assert refused["error"]["condition"] == "forbidden"


async def test_reload_applies_a_new_allowlist(
    prosody: Prosody, component: ComponentSpec, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    text = f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / "bridge.db"}"

[[gateway]]
domain = "{component.domain}"
network = "tests.loopnet:create"
server_port = {prosody.component_port}
secret = "{component.secret}"
"""
    path.write_text(text)
    bridge = Bridge(load_config(path), {"XMPP_BRIDGE_KEY": generate_key()}, path)
    await bridge.start()
    try:
        gateway = bridge.gateways[0]
        assert gateway.gate.allows("anyone@localhost")
        path.write_text(text + '\n[gateway.registration]\nallow = ["boss@localhost"]\n')
        note = await bridge.reload()
        assert component.domain in note
        assert not gateway.gate.allows("anyone@localhost")
        assert gateway.gate.allows("boss@localhost")
        path.write_text("this is not toml [")
        try:
            await bridge.reload()
        except Exception as error:
            assert "nothing changed" in str(error)
        else:
            raise AssertionError("a broken file must be refused")
        assert gateway.gate.allows("boss@localhost")
    finally:
        await bridge.stop()


async def test_configure_on_the_gateway_stores_the_users_defaults(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    done = await alice.command(
        run.jid, "configure", username="alice", password="pw", stay_connected="1"
    )
    assert done["command"]["status"] == "completed", done
    stored = await run.gateway.book.load(alice.boundjid.bare)
    assert stored is not None
    assert stored.model_dump()["stay_connected"] is True
