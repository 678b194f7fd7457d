"""Invitations from XMPP into IRC channels: XEP-0045 mediated and XEP-0249 direct become INVITE."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from bridge.addressing import ContactAddress
from bridge.devservers import Ngircd
from bridge.invitations import NS_CONFERENCE
from tests.bridge_fixture import Running
from tests.conftest import XmppUserFactory
from tests.irc.conftest import IrcPeerFactory, channel_jid, joined, unique
from tests.matrix.test_matrix_invites_e2e import mediated_invite


async def test_a_mediated_invitation_sends_invite_to_the_irc_person(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    channel = unique("#tea")
    room = channel_jid(irc_gateway, ngircd.name, channel)
    alice = await xmpp_user("alice")
    await joined(alice, room, unique("host"))
    bob = await irc_peer(unique("bob"))

    mark = bob.mark()
    invitation = alice.make_message(mto=room)
    invitation.append(
        mediated_invite(irc_gateway.gateway.jid_of(ContactAddress(ngircd.name, bob.nick)))
    )
    invitation.send()

    invite = await bob.wait_for(lambda m: m.command == "INVITE", after=mark)
    assert (invite.param(0), invite.param(1)) == (bob.nick, channel)


async def test_a_direct_invitation_to_the_irc_person_sends_invite(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    channel = unique("#tea")
    room = channel_jid(irc_gateway, ngircd.name, channel)
    alice = await xmpp_user("alice")
    await joined(alice, room, unique("host"))
    bob = await irc_peer(unique("bob"))

    mark = bob.mark()
    invitation = alice.make_message(
        mto=irc_gateway.gateway.jid_of(ContactAddress(ngircd.name, bob.nick))
    )
    invitation.append(ET.Element(f"{{{NS_CONFERENCE}}}x", {"jid": room}))
    invitation.send()

    invite = await bob.wait_for(lambda m: m.command == "INVITE", after=mark)
    assert (invite.param(0), invite.param(1)) == (bob.nick, channel)
