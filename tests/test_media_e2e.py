"""Attachments from the legacy network reach XMPP clients as XEP-0066 links on the
gateway's own HTTP server, which streams the file from the user's session."""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.devservers.ports import free_port
from bridge.http.signing import MediaGrant, MediaSigner
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.test_rooms_e2e import join, room_jid, self_presence
from tests.xmpp_client import XmppClient

PICTURE = bytes(range(256)) * 20  # more than one chunk of loopnet's media store
OOB_URL = "{jabber:x:oob}x/{jabber:x:oob}url"


def with_oob(sender: str) -> Callable[[StanzaBase], bool]:
    def match(stanza: StanzaBase) -> bool:
        return (
            isinstance(stanza, Message)
            and stanza["from"].bare == sender
            and stanza.xml.find(OOB_URL) is not None
        )

    return match


async def start_with_http(start_bridge: BridgeStarter) -> tuple[Running, str]:
    port = free_port()
    run = await start_bridge(
        options={"needs_registration": False}, http={"enabled": True, "port": port}
    )
    return run, f"http://127.0.0.1:{port}"


async def joined(client: XmppClient, room: str) -> None:
    await client.wait_for(self_presence(room), after=join(client, room, client.boundjid.user))


async def test_a_room_file_arrives_as_a_link_that_serves_its_bytes(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run, _ = await start_with_http(start_bridge)
    alice = await xmpp_user("alice")
    room = room_jid(run, "#pics")
    await joined(alice, room)

    run.world.say_with_file(
        "#pics", "bob", "", data=PICTURE, name="cat näme.png", media_type="image/png"
    )
    message = await alice.wait_for(with_oob(room))
    url = message.xml.findtext(OOB_URL)
    assert url is not None
    assert message["body"] == url
    assert message.xml.findtext("{jabber:x:oob}x/{jabber:x:oob}desc") == "cat näme.png"

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert await response.read() == PICTURE
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Length"] == str(len(PICTURE))
        assert "filename*=UTF-8''cat%20n%C3%A4me.png" in response.headers["Content-Disposition"]


async def test_a_private_file_with_a_caption_keeps_the_caption_first(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run, _ = await start_with_http(start_bridge)
    alice = await xmpp_user("alice")
    await joined(alice, room_jid(run, "#any"))  # logs alice in to the network
    notes = run.world.keep_file(b"minutes", name="notes.txt", media_type="text/plain")

    run.world.whisper("bob", alice.boundjid.bare, "the notes", attachments=(notes,))
    message = await alice.wait_for(with_oob(f"bob%loop.example@{run.jid}"))
    url = message.xml.findtext(OOB_URL)
    assert url is not None
    assert message["type"] == "chat"
    assert message["body"] == f"the notes\n{url}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert await response.read() == b"minutes"
        assert response.headers["Content-Disposition"].startswith("attachment;")


async def test_altered_expired_and_unknown_links_are_refused(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run, base = await start_with_http(start_bridge)
    alice = await xmpp_user("alice")
    await joined(alice, room_jid(run, "#any"))
    picture = run.world.keep_file(PICTURE, name="p.png", media_type="image/png")
    signer = MediaSigner.from_secrets_key(run.bridge.environ["XMPP_BRIDGE_KEY"])
    user = alice.boundjid.bare

    def link(ref: str, user: str = user, expires: float = time.time() + 60) -> str:
        return f"{base}/media/{signer.sign(MediaGrant(run.jid, user, ref, int(expires)))}"

    good = link(picture.ref)
    altered = link(picture.ref, user="mallory@localhost").rsplit(".", 1)[0]
    altered += "." + good.rsplit(".", 1)[1]
    async with aiohttp.ClientSession() as http:
        async with http.get(good) as response:
            assert response.status == 200
        async with http.get(altered) as response:
            assert response.status == 403
            assert "altered" in await response.text()
        async with http.get(link(picture.ref, expires=time.time() - 1)) as response:
            assert response.status == 410
            assert "expired" in await response.text()
        async with http.get(link("no-such-file")) as response:
            assert response.status == 404
        async with http.get(link(picture.ref, user="offline@localhost")) as response:
            assert response.status == 503
            assert "not connected" in await response.text()


async def test_health_and_metrics_report_the_link(start_bridge: BridgeStarter) -> None:
    run, base = await start_with_http(start_bridge)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/health") as response:
            assert response.status == 200
            health = await response.json()
        async with http.get(f"{base}/metrics") as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            metrics = (await response.text()).splitlines()
    assert health["status"] == "ok"
    assert health["gateways"][0]["domain"] == run.jid
    assert health["gateways"][0]["link"] == "up"
    assert f'xmpp_bridge_link_up{{gateway="{run.jid}"}} 1' in metrics
    assert f'xmpp_bridge_link_connects_total{{gateway="{run.jid}"}} 1' in metrics


async def test_without_http_a_file_is_announced_as_unavailable(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge(options={"needs_registration": False})
    alice = await xmpp_user("alice")
    room = room_jid(run, "#pics")
    await joined(alice, room)
    run.world.say_with_file("#pics", "bob", "look", data=b"x", name="a.png", media_type="image/png")
    expected = "look\n(attachment: a.png, not available: the gateway's HTTP server is off)"
    message = await alice.wait_for(lambda s: isinstance(s, Message) and s["body"] == expected)
    assert message.xml.find("{jabber:x:oob}x") is None
