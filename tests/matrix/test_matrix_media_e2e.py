"""Files between Matrix and XMPP end to end: Prosody, the bridge with its HTTP server, the
session Synapse, a nio person, and a loopback web server standing in for an XEP-0363 host."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest
from aiohttp import web
from nio import RoomSendResponse, UploadResponse

from bridge.devservers import Synapse
from bridge.devservers.ports import free_port
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory, sync_until
from tests.matrix.test_matrix_e2e import logged_in_user, room_jid, shared_room, start_matrix_bridge
from tests.matrix.test_matrix_relations_e2e import timeline_event
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_media_e2e import OOB_URL, with_oob
from tests.test_rooms_e2e import join, self_presence
from tests.web_host import serving

PICTURE = bytes(range(256)) * 300  # several chunks
SYNAPSE_TOKEN_PREFIX = "syt_"


async def download(synapse: Synapse, token: str, mxc: str) -> tuple[bytes, str]:
    server_and_id = mxc.removeprefix("mxc://")
    url = f"{synapse.base_url}/_matrix/client/v1/media/download/{server_and_id}"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read(), response.content_type


@pytest.fixture
async def upload_host() -> AsyncIterator[str]:
    """An HTTP server on loopback serving the picture, as an XEP-0363 upload service would."""

    async def picture(request: web.Request) -> web.Response:
        return web.Response(body=PICTURE, content_type="image/png")

    async with serving({"/upload/abc/cat.png": picture}) as url:
        yield url


async def test_files_cross_both_ways_with_their_bytes_and_type(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
    upload_host: str,
) -> None:
    run = await start_matrix_bridge(start_bridge, http={"enabled": True, "port": free_port()})
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice_account = await matrix_user("alice")
    alice = await matrix_client(alice_account)
    room_id = await shared_room(alice, account.user_id, name="pics")
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    # Matrix → XMPP: an image becomes a link on the gateway that serves the same file.
    uploaded, _ = await alice.upload(
        io.BytesIO(PICTURE), content_type="image/png", filename="cat.png", filesize=len(PICTURE)
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    content: dict[str, Any] = {
        "msgtype": "m.image",
        "body": "cat.png",
        "url": uploaded.content_uri,
        "info": {"mimetype": "image/png", "size": len(PICTURE)},
    }
    sent = await alice.room_send(room_id, "m.room.message", content)
    assert isinstance(sent, RoomSendResponse), sent
    message = await client.wait_for(with_oob(room), timeout=15)
    url = message.xml.findtext(OOB_URL)
    assert url is not None and message["body"] == url
    assert SYNAPSE_TOKEN_PREFIX not in url and uploaded.content_uri not in url
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert await response.read() == PICTURE

    # XMPP → Matrix: a shared link (as XEP-0363 clients send it) arrives as an m.image.
    link = f"{upload_host}/upload/abc/cat.png"
    shared = client.make_message(mto=room, mbody=link, mtype="groupchat")
    ET.SubElement(ET.SubElement(shared.xml, "{jabber:x:oob}x"), "{jabber:x:oob}url").text = link
    shared.send()
    event = await sync_until(
        alice,
        timeline_event(
            room_id,
            lambda raw: (
                raw.get("sender") == account.user_id
                and raw.get("content", {}).get("msgtype") == "m.image"
            ),
        ),
        timeout=15,
        what="the shared picture",
    )
    assert event["content"]["body"] == "cat.png"
    assert event["content"]["info"] == {"mimetype": "image/png", "size": len(PICTURE)}
    data, media_type = await download(synapse, alice_account.access_token, event["content"]["url"])
    assert (data, media_type) == (PICTURE, "image/png")
