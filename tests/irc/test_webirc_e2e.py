"""WebIRC end to end: ngircd with a WebIRC password sees each user's pseudo-host, not the JID."""

from __future__ import annotations

import secrets

from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.irc.conftest import NgircdFactory, RawIrcPeer, channel_jid, joined, unique

GATEWAY_DOMAIN = "gw.example"


async def test_an_irc_user_whois_the_bridged_nick_and_sees_its_pseudo_host(
    start_bridge: BridgeStarter, own_ngircd: NgircdFactory, xmpp_user: XmppUserFactory
) -> None:
    password = secrets.token_urlsafe(12)
    server = await own_ngircd(webirc_password=password)
    preset = {
        "address": "127.0.0.1",
        "ports": [server.port],
        "tls_ports": [],
        "webirc_password": password,
        "webirc_domain": GATEWAY_DOMAIN,
        "webirc_prefix": "fd12:3456:789a::/64",
    }
    run = await start_bridge(
        network="irc", hosts={"allow_private": True}, options={"networks": {server.name: preset}}
    )
    alice = await xmpp_user("alice")
    nick = unique("masked")
    await joined(alice, channel_jid(run, server.name, unique("#webirc")), nick)

    peer = await RawIrcPeer.connect(server.port, unique("curious"))
    try:
        mark = peer.mark()
        peer.send(f"WHOIS {nick}")
        whois = await peer.wait_for(lambda m: m.command == "311", after=mark)
        host = whois.param(3)
        assert host.endswith(f".{GATEWAY_DOMAIN}") and host != f".{GATEWAY_DOMAIN}"
        account = alice.boundjid.user
        assert account not in host and "localhost" not in host
    finally:
        await peer.close()
