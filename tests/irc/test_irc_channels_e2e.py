"""IRC channels as XEP-0045 rooms, end to end: Prosody, the bridge, ngircd, people on IRC."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree as ET

import pytest
from slixmpp.stanza import Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import Ngircd
from plugins.irc.protocol.message import IrcMessage
from tests.bridge_fixture import Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import (
    IrcPeerFactory,
    RawIrcPeer,
    channel_jid,
    joined,
    presence_of,
    status_codes,
    unavailable,
    unique,
)
from tests.muc_admin import admin_set
from tests.test_rooms_e2e import groupchat, join

NS_MUC_USER = "http://jabber.org/protocol/muc#user"


def muc_item(stanza: StanzaBase) -> ET.Element:
    item = stanza.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}item")
    assert item is not None, f"no muc#user item in {stanza}"
    return item


def has_power(role: str, affiliation: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        item = stanza.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}item")
        return (
            item is not None and item.get("role") == role and item.get("affiliation") == affiliation
        )

    return match


def privmsg(channel: str, text: str | None = None) -> Callable[[IrcMessage], bool]:
    return lambda m: (
        m.command == "PRIVMSG" and m.param(0) == channel and (text is None or m.param(1) == text)
    )


class Scene:
    """One test's channel on the session ngircd, its room JID, and a person on IRC."""

    def __init__(self, run: Running, ngircd: Ngircd, channel: str, peer: RawIrcPeer) -> None:
        self.run, self.ngircd, self.channel, self.peer = run, ngircd, channel, peer
        self.room = channel_jid(run, ngircd.name, channel)

    def occupant(self, nick: str) -> str:
        return f"{self.room}/{nick}"


@pytest.fixture
async def scene(irc_gateway: Running, ngircd: Ngircd, irc_peer: IrcPeerFactory) -> Scene:
    """A fresh channel created (and so operated) by a person on IRC."""
    channel = unique("#chan")
    peer = await irc_peer(unique("bob"))
    await peer.join(channel)
    return Scene(irc_gateway, ngircd, channel, peer)


async def test_join_lists_others_then_self_with_210_when_irc_gave_another_nick(
    scene: Scene, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    taken = unique("taken")
    await irc_peer(taken)  # somebody on IRC already has the nick the user asks for
    alice = await xmpp_user("alice")
    mark = join(alice, scene.room, taken)
    own = await alice.wait_for(lambda s: isinstance(s, Presence) and 110 in status_codes(s))
    assert {110, 100, 210} <= status_codes(own)
    assert own["from"].resource == f"{taken}_"
    before = [
        s
        for s in alice.received[mark : alice.received.index(own)]
        if isinstance(s, Presence) and s["from"].bare == scene.room
    ]
    assert [str(p["from"].resource) for p in before] == [scene.peer.nick]
    subject = await alice.wait_for(
        lambda s: isinstance(s, Message) and s.xml.find("{jabber:client}subject") is not None,
        after=mark,
    )
    assert subject.xml.findtext("{jabber:client}subject") == ""
    assert alice.received.index(subject) > alice.received.index(own)


async def test_nick_changes_both_ways(scene: Scene, xmpp_user: XmppUserFactory) -> None:
    alice = await xmpp_user("alice")
    nick, renamed = unique("ann"), unique("anne")
    await joined(alice, scene.room, nick)
    mark = scene.peer.mark()
    alice.make_presence(pto=scene.occupant(renamed)).send()
    await scene.peer.wait_for(lambda m: m.command == "NICK" and m.param(0) == renamed, after=mark)
    gone = await alice.wait_for(unavailable(scene.room, 303, 110))
    assert muc_item(gone).get("nick") == renamed

    newbob = unique("robert")
    scene.peer.send(f"NICK {newbob}")
    left = await alice.wait_for(
        lambda s: (
            isinstance(s, Presence)
            and str(s["from"]) == scene.occupant(scene.peer.nick)
            and 303 in status_codes(s)
        )
    )
    assert muc_item(left).get("nick") == newbob
    await alice.wait_for(presence_of(scene.occupant(newbob)))


async def test_an_operator_on_irc_kicks_the_user_out_of_the_room(
    scene: Scene, xmpp_user: XmppUserFactory
) -> None:
    alice = await xmpp_user("alice")
    nick = unique("kicked")
    await joined(alice, scene.room, nick)
    scene.peer.send(f"KICK {scene.channel} {nick} :behave")
    kicked = await alice.wait_for(unavailable(scene.room, 307, 110))
    item = muc_item(kicked)
    actor = item.find(f"{{{NS_MUC_USER}}}actor")
    assert actor is not None and actor.get("nick") == scene.peer.nick
    assert item.findtext(f"{{{NS_MUC_USER}}}reason") == "behave"
    mark = alice.mark()
    alice.make_message(mto=scene.room, mbody="still here?", mtype="groupchat").send()
    error = await alice.wait_for(
        lambda s: isinstance(s, Message) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == "not-acceptable"


async def test_the_user_as_first_joiner_kicks_and_gives_modes(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    channel = unique("#ops")
    room = channel_jid(irc_gateway, ngircd.name, channel)
    alice = await xmpp_user("alice")
    own = await joined(alice, room, unique("op"))
    assert (muc_item(own).get("role"), muc_item(own).get("affiliation")) == ("moderator", "admin")
    bob = await irc_peer(unique("bob"))
    await bob.join(channel)
    await alice.wait_for(presence_of(f"{room}/{bob.nick}"))

    mark = bob.mark()
    reply = await admin_set(alice, room, nick=bob.nick, role="moderator")
    assert reply["type"] == "result"
    await bob.wait_for(
        lambda m: m.command == "MODE" and m.param(1) == "+o" and m.param(2) == bob.nick, after=mark
    )
    await alice.wait_for(
        lambda s: presence_of(f"{room}/{bob.nick}")(s) and has_power("moderator", "admin")(s)
    )

    reply = await admin_set(alice, room, nick=bob.nick, role="none", reason="out")
    assert reply["type"] == "result"
    kick = await bob.wait_for(lambda m: m.command == "KICK", after=mark)
    assert (kick.param(0), kick.param(1)) == (channel, bob.nick)


async def test_irc_modes_become_roles_and_other_modes_are_shown(
    scene: Scene, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    carol = await irc_peer(unique("carol"))
    await carol.join(scene.channel)
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("watcher"))
    carol_jid = scene.occupant(carol.nick)
    mark = alice.mark()
    scene.peer.send(f"MODE {scene.channel} +v {carol.nick}")
    await alice.wait_for(
        lambda s: presence_of(carol_jid)(s) and has_power("participant", "member")(s), after=mark
    )
    scene.peer.send(f"MODE {scene.channel} +o {carol.nick}")
    await alice.wait_for(
        lambda s: presence_of(carol_jid)(s) and has_power("moderator", "admin")(s), after=mark
    )
    scene.peer.send(f"MODE {scene.channel} +m")
    shown = await alice.wait_for(  # not the subject, which may still be on its way
        lambda s: groupchat(scene.room)(s) and "+m" in s["body"], after=mark
    )
    assert scene.peer.nick in shown["body"]


async def test_topic_both_ways(scene: Scene, xmpp_user: XmppUserFactory) -> None:
    scene.peer.send(f"MODE {scene.channel} -t")
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("topical"))
    mark = scene.peer.mark()
    alice.make_message(mto=scene.room, msubject="from xmpp", mtype="groupchat").send()
    await scene.peer.wait_for(
        lambda m: m.command == "TOPIC" and m.param(1) == "from xmpp", after=mark
    )
    mark = alice.mark()
    scene.peer.send(f"TOPIC {scene.channel} :from irc")
    subject = await alice.wait_for(
        lambda s: isinstance(s, Message) and s["subject"] == "from irc", after=mark
    )
    assert str(subject["from"]) == scene.occupant(scene.peer.nick)


async def test_actions_both_ways(scene: Scene, xmpp_user: XmppUserFactory) -> None:
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("actor"))
    alice.make_message(mto=scene.room, mbody="/me waves", mtype="groupchat").send()
    await scene.peer.wait_for(privmsg(scene.channel, "\x01ACTION waves\x01"))
    scene.peer.send(f"PRIVMSG {scene.channel} :\x01ACTION dances\x01")
    got = await alice.wait_for(groupchat(scene.room, "/me dances"))
    assert got["from"].resource == scene.peer.nick


@pytest.mark.parametrize(
    ("mode", "password", "condition"),
    [
        ("+k sesame", None, "not-authorized"),
        ("+k sesame", "wrong", "not-authorized"),
        ("+b {nick}!*@*", None, "forbidden"),
        ("+i", None, "registration-required"),
        ("+l 1", None, "service-unavailable"),
    ],
)
async def test_refused_joins_get_the_matching_error(
    scene: Scene, xmpp_user: XmppUserFactory, mode: str, password: str | None, condition: str
) -> None:
    nick = unique("refused")
    mark = scene.peer.mark()
    scene.peer.send(f"MODE {scene.channel} {mode.format(nick=nick)}")
    await scene.peer.wait_for(lambda m: m.command == "MODE", after=mark)
    alice = await xmpp_user("alice")
    mark = join(alice, scene.room, nick, password)
    error = await alice.wait_for(
        lambda s: isinstance(s, Presence) and s["type"] == "error", after=mark
    )
    assert error["error"]["condition"] == condition
    assert error["error"]["text"]


async def test_the_right_key_opens_a_keyed_channel(
    scene: Scene, xmpp_user: XmppUserFactory
) -> None:
    mark = scene.peer.mark()
    scene.peer.send(f"MODE {scene.channel} +k sesame")
    await scene.peer.wait_for(lambda m: m.command == "MODE", after=mark)
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("keyholder"), "sesame")


async def test_notices_from_people_are_shown(scene: Scene, xmpp_user: XmppUserFactory) -> None:
    alice = await xmpp_user("alice")
    nick = unique("noticed")
    await joined(alice, scene.room, nick)
    scene.peer.send(f"NOTICE {scene.channel} :heads up")
    got = await alice.wait_for(lambda s: groupchat(scene.room)(s) and "heads up" in s["body"])
    assert got["from"].resource == scene.peer.nick
    scene.peer.send(f"NOTICE {nick} :just you")
    private = await alice.wait_for(lambda s: isinstance(s, Message) and "just you" in s["body"])
    assert str(private["from"]) == f"{scene.peer.nick}%{scene.ngircd.name}@{scene.run.jid}"


async def test_a_chat_to_the_server_jid_is_a_raw_irc_line(
    scene: Scene, xmpp_user: XmppUserFactory
) -> None:
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("raw"))
    server_jid = f"{scene.ngircd.name}@{scene.run.jid}"
    alice.make_message(mto=server_jid, mbody=f"PRIVMSG {scene.peer.nick} :raw", mtype="chat").send()
    heard = await scene.peer.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == "raw")
    assert heard.param(0) == scene.peer.nick


async def test_long_and_multi_line_bodies_arrive_whole_and_in_order(
    scene: Scene, xmpp_user: XmppUserFactory
) -> None:
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("talker"))
    mark = scene.peer.mark()
    alice.make_message(mto=scene.room, mbody="one\ntwo\nthree", mtype="groupchat").send()
    await scene.peer.wait_for(privmsg(scene.channel, "three"), after=mark)
    lines = [m.param(1) for m in scene.peer.received[mark:] if privmsg(scene.channel)(m)]
    assert lines == ["one", "two", "three"]

    words = [f"word{number:04d}" for number in range(167)]  # 1,502 bytes
    body = " ".join(words)
    assert len(body.encode()) > 1500
    mark = scene.peer.mark()
    alice.make_message(mto=scene.room, mbody=body, mtype="groupchat").send()
    await scene.peer.wait_for(
        lambda m: privmsg(scene.channel)(m) and m.param(1).endswith(words[-1]), after=mark
    )
    pieces = [m.param(1) for m in scene.peer.received[mark:] if privmsg(scene.channel)(m)]
    assert len(pieces) > 1
    assert " ".join(pieces).split() == words


async def test_latin1_and_formatting_from_irc_arrive_as_clean_text(
    scene: Scene, xmpp_user: XmppUserFactory
) -> None:
    alice = await xmpp_user("alice")
    await joined(alice, scene.room, unique("reader"))
    scene.peer.send_bytes(
        f"PRIVMSG {scene.channel} :".encode() + "caf\xe9 cr\xe8me".encode("latin-1")
    )
    await alice.wait_for(groupchat(scene.room, "café crème"))
    scene.peer.send(
        f"PRIVMSG {scene.channel} :\x0304,01red\x03 \x02bold\x02 \x1funder\x1f \x16rev\x0f end"
    )
    got = await alice.wait_for(lambda s: groupchat(scene.room)(s) and s["body"].endswith("end"))
    assert not any(ord(char) < 32 for char in got["body"]), repr(got["body"])
    assert "red" in got["body"] and "bold" in got["body"]


async def test_two_resources_share_one_irc_connection(
    scene: Scene, xmpp_user: XmppUserFactory
) -> None:
    nick = unique("twin")
    laptop = await xmpp_user("alice", resource="laptop")
    phone = await xmpp_user(account=laptop.boundjid.user, resource="phone")
    await joined(laptop, scene.room, nick)
    await joined(phone, scene.room, nick)
    mark = scene.peer.mark()
    scene.peer.send(f"NAMES {scene.channel}")
    names = await scene.peer.wait_for(lambda m: m.command == "353", after=mark)
    ours = [name.lstrip("@+") for name in names.param(-1).split() if nick in name]
    assert ours == [nick]

    mark = scene.peer.mark()
    phone.send_presence(pto=f"{scene.room}/{nick}", ptype="unavailable")
    await phone.wait_for(unavailable(scene.room, 110))
    laptop.make_message(mto=scene.room, mbody="still here", mtype="groupchat").send()
    await scene.peer.wait_for(privmsg(scene.channel, "still here"), after=mark)
    parted = [m for m in scene.peer.received[mark:] if m.command in ("PART", "QUIT")]
    assert parted == []
