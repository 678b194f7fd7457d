"""Per-server IRC settings from an XMPP client: `configure`, XEP-0077, PASS, fixed-server mode."""

from __future__ import annotations

from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq, Message, Presence

from bridge.devservers import Ngircd
from bridge.devservers.ports import free_port
from tests.bridge_fixture import Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import (
    GatewayStarter,
    IrcPeerFactory,
    NgircdFactory,
    channel_jid,
    joined,
    status_codes,
    unique,
)
from tests.test_rooms_e2e import join

SERVER_FIELDS = {
    "address",
    "ports",
    "tls_ports",
    "verify_cert",
    "fingerprint",
    "sasl_password",
    "sasl_mechanism",
    "nick",
    "pass",
    "after_connect_commands",
    "username",
    "realname",
    "throttle_limit",
    "encoding_in",
    "encoding_out",
}


def notes(reply: Iq) -> str:
    return " ".join(text for _kind, text in reply["command"]["notes"])


async def test_configure_sets_the_ports_and_nick_of_the_next_connection(
    start_irc_gateway: GatewayStarter, ngircd: Ngircd, xmpp_user: XmppUserFactory
) -> None:
    run = await start_irc_gateway(ngircd.name, free_port())  # the preset's port is wrong
    alice = await xmpp_user("alice")
    nick = unique("configured")
    server_jid = f"{ngircd.name}@{run.jid}"
    done = await alice.command(
        server_jid, "configure", nick=nick, ports=[str(ngircd.port)], tls_ports=[]
    )
    assert done["command"]["status"] == "completed", done
    room = channel_jid(run, ngircd.name, unique("#configured"))
    own = await joined(alice, room, unique("asked"))
    assert own["from"].resource == nick
    assert 210 in status_codes(own)

    info = await alice.command(server_jid, "get-irc-connection-info")
    assert info["command"]["status"] == "completed", info
    assert nick in notes(info) and room.split("%")[0] in notes(info)


async def test_registration_on_the_server_jid_shows_and_saves_the_settings(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer(unique("bob"))
    alice = await xmpp_user("alice")
    server_jid = f"{ngircd.name}@{irc_gateway.jid}"
    ask: Iq = alice.Iq()
    ask["type"], ask["to"] = "get", server_jid
    ask.enable("register")
    form = (await alice.iq(ask))["register"]["form"]
    assert set(form.get_fields()) == SERVER_FIELDS

    nick = unique("registered")
    submitted = Form()
    submitted["type"] = "submit"
    submitted["values"] = {
        "nick": nick,
        "ports": [str(ngircd.port)],
        "tls_ports": [],
        "after_connect_commands": [f"PRIVMSG {bob.nick} :hello after connect"],
    }
    change: Iq = alice.Iq()
    change["type"], change["to"] = "set", server_jid
    change["register"].append(submitted)
    assert (await alice.iq(change))["type"] == "result"

    room = channel_jid(irc_gateway, ngircd.name, unique("#registered"))
    await joined(alice, room, nick)
    greeting = await bob.wait_for(
        lambda m: m.command == "PRIVMSG" and m.param(1) == "hello after connect"
    )
    assert greeting.source is not None and greeting.source.startswith(f"{nick}!")


async def test_fixed_server_mode_uses_short_jids(
    start_irc_gateway: GatewayStarter,
    ngircd: Ngircd,
    xmpp_user: XmppUserFactory,
    irc_peer: IrcPeerFactory,
) -> None:
    run = await start_irc_gateway(ngircd.name, ngircd.port, fixed_server=ngircd.name)
    channel = unique("#fixed")
    bob = await irc_peer(unique("bob"))
    await bob.join(channel)
    alice = await xmpp_user("alice")
    nick = unique("fixer")
    room = f"{channel}@{run.jid}"
    await joined(alice, room, nick)
    alice.make_message(mto=room, mbody="short jids", mtype="groupchat").send()
    await bob.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == "short jids")
    bob.send(f"PRIVMSG {nick} :hi there")
    private = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "hi there")
    assert str(private["from"]) == f"{bob.nick}@{run.jid}"

    # The gateway JID is the server's: a chat to it is a raw line, browsing it lists
    # channels, and its `configure` is the server's settings.
    alice.make_message(mto=run.jid, mbody=f"PRIVMSG {bob.nick} :raw hello", mtype="chat").send()
    await bob.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == "raw hello")
    browse = alice.Iq()
    browse["to"], browse["type"] = run.jid, "get"
    browse.enable("disco_items")
    listed = await alice.iq(browse)
    assert room in {str(jid) for jid, _node, _name in listed["disco_items"]["items"]}
    opened = alice.Iq()
    opened["to"], opened["type"] = run.jid, "set"
    opened["command"]["node"], opened["command"]["action"] = "configure", "execute"
    form = (await alice.iq(opened))["command"]["form"]
    assert {"ports", "tls_ports", "sasl_password"} <= set(form.get_fields())


async def test_a_server_password_is_sent_and_a_wrong_one_is_explained(
    start_irc_gateway: GatewayStarter, own_ngircd: NgircdFactory, xmpp_user: XmppUserFactory
) -> None:
    locked = await own_ngircd(password="open-sesame")
    run = await start_irc_gateway(locked.name, locked.port)
    server_jid = f"{locked.name}@{run.jid}"
    alice = await xmpp_user("alice")
    ports: dict[str, str | list[str]] = {"ports": [str(locked.port)], "tls_ports": []}
    emptied = await alice.command(server_jid, "configure", ports=[], tls_ports=[])
    assert "at least one port" in notes(emptied), emptied
    await alice.command(server_jid, "configure", **{"pass": "wrong", **ports})
    room = channel_jid(run, locked.name, "#locked")
    mark = join(alice, room, "alice")
    refused = await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "error", after=mark, timeout=20
    )
    assert "password" in refused["error"]["text"].lower(), refused

    await alice.command(server_jid, "configure", **{"pass": "open-sesame", **ports})
    await joined(alice, room, "alice")
