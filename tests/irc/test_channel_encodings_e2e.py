"""A channel that is not in UTF-8, end to end: the room's `configure` sets its encodings."""

from __future__ import annotations

from bridge.devservers import Ngircd
from tests.bridge_fixture import Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import IrcPeerFactory, channel_jid, joined, unique
from tests.test_rooms_e2e import groupchat

HELLO_RU = "Привет, мир"


async def test_a_cp1251_channel_reads_and_writes_cp1251_while_others_keep_the_default(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    old, other = unique("#cp"), unique("#latin")
    bob = await irc_peer(unique("bob"))
    await bob.join(old)
    await bob.join(other)
    alice = await xmpp_user("alice")
    old_room, other_room = (channel_jid(irc_gateway, ngircd.name, c) for c in (old, other))
    done = await alice.command(old_room, "configure", encoding_in="cp1251", encoding_out="cp1251")
    assert done["command"]["status"] == "completed", done
    nick = unique("reader")
    await joined(alice, old_room, nick)
    await joined(alice, other_room, nick)

    bob.send_bytes(f"PRIVMSG {old} :".encode() + HELLO_RU.encode("cp1251"))
    await alice.wait_for(groupchat(old_room, HELLO_RU))
    bob.send_bytes(f"PRIVMSG {other} :".encode() + "café crème".encode("latin-1"))
    await alice.wait_for(groupchat(other_room, "café crème"))
    bob.send(f"PRIVMSG {old} :still UTF-8: ünïcode")
    await alice.wait_for(groupchat(old_room, "still UTF-8: ünïcode"))

    alice.make_message(mto=old_room, mbody=HELLO_RU, mtype="groupchat").send()
    sent = await bob.wait_for(lambda m: m.command == "PRIVMSG" and m.param(0) == old)
    assert sent.undecoded is not None and sent.undecoded.endswith(HELLO_RU.encode("cp1251"))
    alice.make_message(mto=other_room, mbody=HELLO_RU, mtype="groupchat").send()
    await bob.wait_for(lambda m: m.command == "PRIVMSG" and m.param(1) == HELLO_RU)
