"""IRC channels and people from an XMPP client, end to end: Prosody, the bridge, ngircd."""

from __future__ import annotations

from slixmpp.stanza import Message, Presence

from bridge.devservers import Ngircd
from tests.bridge_fixture import Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import IrcPeerFactory, channel_jid
from tests.test_rooms_e2e import groupchat, join, self_presence


async def test_join_a_channel_without_registering_and_talk_both_ways(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer("bob")
    await bob.join("#talk")
    bob.send("TOPIC #talk :Talk about anything")
    alice = await xmpp_user("alice")
    room = channel_jid(irc_gateway, ngircd.name, "#talk")
    mark = join(alice, room, "alice")
    own = await alice.wait_for(self_presence(room), after=mark)
    occupants = {
        str(s["from"].resource)
        for s in alice.received[mark : alice.received.index(own)]
        if isinstance(s, Presence)
    }
    assert "bob" in occupants
    subject = await alice.wait_for(
        lambda s: isinstance(s, Message) and s["from"].bare == room and bool(s["subject"]),
        after=mark,
    )
    assert subject["subject"] == "Talk about anything"

    alice.make_message(mto=room, mbody="hello from xmpp", mtype="groupchat").send()
    heard = await bob.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == "hello from xmpp")
    assert heard.source is not None and heard.source.startswith("alice!")
    await alice.wait_for(groupchat(room, "hello from xmpp"))

    bob.send("PRIVMSG #talk :hello from \x02irc\x02")
    got = await alice.wait_for(groupchat(room, "hello from *irc*"))
    assert got["from"].resource == "bob"


async def test_private_messages_both_ways(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer("bobby")
    await bob.join("#pm")
    alice = await xmpp_user("alice")
    room = channel_jid(irc_gateway, ngircd.name, "#pm")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice2"))
    contact = f"bobby%{ngircd.name}@{irc_gateway.jid}"
    alice.make_message(mto=contact, mbody="psst", mtype="chat").send()
    await bob.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == "psst")
    bob.send("PRIVMSG alice2 :psst back")
    got = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == "psst back")
    assert str(got["from"]) == contact


async def test_leaving_parts_the_channel(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer("carol")
    await bob.join("#leave")
    alice = await xmpp_user("alice")
    room = channel_jid(irc_gateway, ngircd.name, "#leave")
    await alice.wait_for(self_presence(room), after=join(alice, room, "alice3"))
    mark = bob.mark()
    alice.send_presence(pto=f"{room}/alice3", ptype="unavailable")
    await bob.wait_for(lambda m: m.command == "PART" and m.param(0) == "#leave", after=mark)
