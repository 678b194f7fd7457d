"""Room pictures in the core: what is offered, and the disco#info form's caps hash."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import RoomAddress
from bridge.caps import DiscoInfo, Identity, InfoForm
from bridge.errors import NoSuchRoom
from bridge.events import RoomAvatar
from bridge.network import MediaStream
from bridge.room_avatars import AVATAR_HASH, MAX_AVATAR_BYTES, ROOMINFO, RoomAvatars

USER = "u@example.org"
ROOM = RoomAddress("hs", "!r:hs")
PICTURE = b"\x89PNG pretend"


class Files:
    """A MediaSource with one file per ref, as (media type, bytes)."""

    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        self.files = files

    async def open_media(self, ref: str) -> MediaStream:
        if ref not in self.files:
            raise NoSuchRoom(f"no {ref}")
        media_type, data = self.files[ref]

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 65536):
                yield data[start : start + 65536]

        return MediaStream(media_type, None, "", chunks())


def avatars(files: dict[str, tuple[str, bytes]], sent: list[StanzaBase]) -> RoomAvatars:
    return RoomAvatars(
        media_of=lambda user: Files(files),
        resources_in=lambda user, room: [f"{USER}/phone"],
        room_jid=lambda room: "r@gw",
        send=sent.append,
    )


async def test_an_image_is_offered_with_its_sha1_and_its_change_told() -> None:
    sent: list[StanzaBase] = []
    service = avatars({"mxc://hs/a": ("image/png", PICTURE)}, sent)

    await service.take(USER, RoomAvatar(ROOM, "mxc://hs/a"))

    form = service.info_form(USER, ROOM)
    assert form is not None and form.form_type == ROOMINFO
    assert form.fields == ((AVATAR_HASH, (hashlib.sha1(PICTURE).hexdigest(),)),)
    assert [s["to"] for s in sent] == [f"{USER}/phone"]
    assert service.info_form("someone@else", ROOM) is None

    await service.take(USER, RoomAvatar(ROOM, "mxc://hs/a"))
    assert len(sent) == 1, "the same picture again is no change"
    await service.take(USER, RoomAvatar(ROOM, None))
    assert service.info_form(USER, ROOM) is None and len(sent) == 2


@pytest.mark.parametrize(
    "file",
    [("text/html", b"<script>"), ("image/png", b"x" * (MAX_AVATAR_BYTES + 1))],
)
async def test_no_image_or_too_large_an_image_is_not_offered(file: tuple[str, bytes]) -> None:
    sent: list[StanzaBase] = []
    service = avatars({"mxc://hs/a": file}, sent)

    await service.take(USER, RoomAvatar(ROOM, "mxc://hs/a"))
    await service.take(USER, RoomAvatar(ROOM, "mxc://hs/missing"))

    assert service.info_form(USER, ROOM) is None and sent == []


def test_the_caps_hash_covers_extension_forms() -> None:
    """XEP-0115 §5.3's complex example."""
    info = DiscoInfo(
        (Identity("client", "pc", "Psi 0.11", "en"), Identity("client", "pc", "Ψ 0.11", "el")),
        (
            "http://jabber.org/protocol/caps",
            "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items",
            "http://jabber.org/protocol/muc",
        ),
        (
            InfoForm(
                "urn:xmpp:dataforms:softwareinfo",
                (
                    ("ip_version", ("ipv6", "ipv4")),
                    ("os", ("Mac",)),
                    ("os_version", ("10.5.1",)),
                    ("software", ("Psi",)),
                    ("software_version", ("0.11",)),
                ),
            ),
        ),
    )
    assert info.caps_ver() == "q07IKJEyjvHSyhy//CH0CxmKi8w="
