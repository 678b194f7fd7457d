"""A Matrix room's picture as its XMPP avatar (XEP-0486): disco#info hash, vCard-temp
PHOTO and status 104, end to end on Synapse."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zlib
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
from nio import RoomPutStateResponse, UploadResponse
from slixmpp import JID
from slixmpp.stanza import Message

from bridge.devservers import Synapse
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory
from tests.matrix.test_matrix_e2e import logged_in_user, room_jid, shared_room, start_matrix_bridge
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_rooms_e2e import join, self_presence
from tests.waiting import wait_until
from tests.xmpp_client import XmppClient

VCARD = "vcard-temp"
HASH_FIELD = "muc#roominfo_avatarhash"


def png(red: int) -> bytes:
    """A real 2x2 PNG of one colour, so that it is an image to anyone who checks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes((red, 0, 0)) * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'


async def set_picture(
    person: Any, room_id: str, picture: bytes | None, media_type: str = "image/png"
) -> str:
    """Upload *picture* and make it the room's avatar (its mxc); None removes it."""
    content: dict[str, Any] = {}
    if picture is not None:
        uploaded, _ = await person.upload(
            io.BytesIO(picture), content_type=media_type, filename="p", filesize=len(picture)
        )
        assert isinstance(uploaded, UploadResponse), uploaded
        content = {"url": uploaded.content_uri, "info": {"mimetype": media_type}}
    answer = await person.room_put_state(room_id, "m.room.avatar", content)
    assert isinstance(answer, RoomPutStateResponse), answer
    return str(content.get("url", ""))


async def thumbnail(synapse: Synapse, person: Any, mxc: str) -> tuple[str, bytes]:
    """The 96x96 thumbnail the homeserver made of *mxc*, as a Matrix client reads it."""
    url = f"{synapse.base_url}/_matrix/client/v1/media/thumbnail/{mxc.removeprefix('mxc://')}"
    headers = {"Authorization": f"Bearer {person.access_token}"}
    params = {"width": "96", "height": "96", "method": "crop"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, params=params, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return response.content_type, await response.read()


async def avatar_hashes(client: XmppClient, room: str) -> list[str]:
    info = await client.plugin["xep_0030"].get_info(jid=JID(room), timeout=10)
    query = info.xml.find("{http://jabber.org/protocol/disco#info}query")
    assert query is not None
    features = {f.get("var") for f in query.findall("{*}feature")}
    assert VCARD in features
    return [
        value.text or ""
        for field in query.findall("{jabber:x:data}x/{jabber:x:data}field")
        if field.get("var") == HASH_FIELD
        for value in field.findall("{jabber:x:data}value")
    ]


async def room_vcard_photo(client: XmppClient, room: str) -> tuple[str, bytes] | None:
    iq = client.Iq()
    iq["to"] = room
    iq["type"] = "get"
    iq.xml.append(ET.Element(f"{{{VCARD}}}vCard"))
    reply = await client.iq(iq)
    assert reply["type"] == "result", reply
    vcard = reply.xml.find(f"{{{VCARD}}}vCard")
    assert vcard is not None, reply
    photo = vcard.find(f"{{{VCARD}}}PHOTO")
    if photo is None:
        return None
    return photo.findtext(f"{{{VCARD}}}TYPE") or "", base64.b64decode(
        photo.findtext(f"{{{VCARD}}}BINVAL") or ""
    )


def configuration_changed(room: str) -> Any:
    def match(stanza: Any) -> bool:
        codes = stanza.xml.findall("{http://jabber.org/protocol/muc#user}x/{*}status")
        return (
            isinstance(stanza, Message)
            and stanza["from"].bare == room
            and "104" in {code.get("code") for code in codes}
        )

    return match


async def test_a_matrix_room_picture_is_the_rooms_xmpp_avatar(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, name="gallery")
    room = room_jid(run, room_id)
    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)
    assert await avatar_hashes(client, room) == []
    assert await room_vcard_photo(client, room) is None
    mark = client.mark()

    mxc = await set_picture(alice, room_id, png(200))

    await client.wait_for(configuration_changed(room), after=mark, timeout=15)
    media_type, picture = await thumbnail(synapse, alice, mxc)
    assert media_type.startswith("image/") and picture.startswith((b"\x89PNG", b"\xff\xd8"))
    assert await avatar_hashes(client, room) == [hashlib.sha1(picture).hexdigest()]
    assert await room_vcard_photo(client, room) == (media_type, picture)

    mark = client.mark()
    await set_picture(alice, room_id, None)
    await client.wait_for(configuration_changed(room), after=mark, timeout=15)
    assert await avatar_hashes(client, room) == []
    assert await room_vcard_photo(client, room) is None


async def test_a_picture_set_before_joining_is_there_after_the_join_even_without_thumbnail(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, synapse)
    alice = await matrix_client(await matrix_user("alice"))
    room_id = await shared_room(alice, account.user_id, name="studio")
    picture = SVG  # no thumbnail of it: the file itself
    await set_picture(alice, room_id, picture, "image/svg+xml")
    room = room_jid(run, room_id)
    other = await xmpp_user("other")  # not the user: sees no picture of the user's rooms

    await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)

    expected = [hashlib.sha1(picture).hexdigest()]

    async def offered() -> bool:
        return await avatar_hashes(client, room) == expected

    await wait_until(offered, 15, "the picture's hash in disco#info")
    assert await room_vcard_photo(client, room) == ("image/svg+xml", picture)
    assert await room_vcard_photo(other, room) is None
