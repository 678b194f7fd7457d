"""Questions about IRC from an XMPP client, end to end: channel list, client version, presence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from slixmpp.stanza import Iq, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import Ngircd
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.irc_peer import IrcPeer
from tests.test_rooms_e2e import join, self_presence
from tests.xmpp_client import XmppClient

IrcPeerFactory = Callable[[str], Awaitable[IrcPeer]]


@pytest.fixture
async def irc_peer(ngircd: Ngircd) -> AsyncIterator[IrcPeerFactory]:
    peers: list[IrcPeer] = []

    async def connect(nick: str) -> IrcPeer:
        peer = await IrcPeer.connect(ngircd.port, nick)
        peers.append(peer)
        return peer

    yield connect
    for peer in peers:
        await peer.close()


@pytest.fixture
async def irc_gateway(start_bridge: BridgeStarter, ngircd: Ngircd) -> Running:
    return await start_bridge(
        network="irc",
        hosts={"allow_private": True},
        options={
            "networks": {
                ngircd.name: {"address": "127.0.0.1", "ports": [ngircd.port], "tls_ports": []}
            }
        },
    )


def get(client: XmppClient, to: str) -> Iq:
    iq = client.Iq()
    iq["to"], iq["type"] = to, "get"
    return iq


def presence_from(jid: str, kind: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Presence) and str(stanza["from"]) == jid and stanza["type"] == kind
        )

    return match


async def test_the_server_jid_lists_channels_with_users_and_topics(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer("lister")
    await bob.join("#listed")
    bob.send("TOPIC #listed :A \x02listed\x02 channel")
    await bob.wait_for(lambda m: m.command == "TOPIC")
    alice = await xmpp_user("alice")
    request = get(alice, f"{ngircd.name}@{irc_gateway.jid}")
    request.enable("disco_items")
    reply = await alice.iq(request)
    assert reply["type"] == "result", reply
    names = {str(jid): name for jid, _node, name in reply["disco_items"]["items"]}
    assert names[f"#listed%{ngircd.name}@{irc_gateway.jid}"] == "#listed (1): A listed channel"


async def test_a_nick_answers_version_requests_with_its_client(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer("versioned")
    alice = await xmpp_user("alice")
    request = get(alice, f"versioned%{ngircd.name}@{irc_gateway.jid}")
    request.enable("software_version")
    asked = asyncio.create_task(alice.iq(request))
    question = await bob.wait_for(lambda m: m.command == "PRIVMSG" and "VERSION" in m.param(1))
    asker = (question.source or "").partition("!")[0]
    bob.send(f"NOTICE {asker} :\x01VERSION HexChat 2.16.1 [x86_64/Linux]\x01")
    reply = await asked
    assert reply["type"] == "result", reply
    version = reply["software_version"]
    assert (version["name"], version["version"], version["os"]) == (
        "HexChat",
        "2.16.1",
        "x86_64/Linux",
    )

    missing = get(alice, f"nobody-here%{ngircd.name}@{irc_gateway.jid}")
    missing.enable("software_version")
    refused = await alice.iq(missing)
    assert refused["error"]["condition"] == "item-not-found"
    assert "nobody-here" in refused["error"]["text"]


async def test_a_roster_contact_is_online_while_on_irc(
    irc_gateway: Running, ngircd: Ngircd, xmpp_user: XmppUserFactory, irc_peer: IrcPeerFactory
) -> None:
    bob = await irc_peer("rosterbob")
    await bob.join("#roster")
    alice = await xmpp_user("alice")
    room = f"#roster%{ngircd.name}@{irc_gateway.jid}"
    await alice.wait_for(self_presence(room), after=join(alice, room, "rosteralice"))

    contact = f"rosterbob%{ngircd.name}@{irc_gateway.jid}"
    mark = alice.mark()
    alice.send_presence(pto=contact, ptype="subscribe")
    await alice.wait_for(presence_from(contact, "available"), after=mark)

    mark = alice.mark()
    bob.send("QUIT :off for today")
    await alice.wait_for(presence_from(contact, "unavailable"), after=mark)

    ghost = f"not-on-irc%{ngircd.name}@{irc_gateway.jid}"
    mark = alice.mark()
    alice.send_presence(pto=ghost, ptype="subscribe")
    await alice.wait_for(presence_from(ghost, "unavailable"), after=mark)
