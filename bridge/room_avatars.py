"""Room pictures as XEP-0486 MUC avatars.

A network names a room's picture (:class:`~bridge.events.RoomAvatar`); the gateway reads
it once through the user's session, the network's credentials staying there, and keeps
it in memory per user and room. Clients find its SHA-1 in the room's disco#info
(``muc#roominfo_avatarhash``), fetch it as the room's vCard-temp PHOTO, and are told by
status 104 when it changes while they are in the room.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from slixmpp.stanza import Iq, Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import RoomAddress
from bridge.caps import InfoForm
from bridge.errors import LegacyError, XmppError, error_text
from bridge.events import RoomAvatar
from bridge.network import MediaSource, MediaStream
from bridge.replies import error_reply

log = logging.getLogger(__name__)

NS_VCARD = "vcard-temp"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
ROOMINFO = "http://jabber.org/protocol/muc#roominfo"
AVATAR_HASH = "muc#roominfo_avatarhash"
CONFIGURATION_CHANGED = 104
MAX_AVATAR_BYTES = 512 * 1024
"""Larger pictures are not offered: the whole image travels base64 in one stanza."""


@dataclass(frozen=True, slots=True)
class Avatar:
    data: bytes
    media_type: str

    @property
    def sha1(self) -> str:
        """The XEP-0153 hash clients compare with the image they fetched."""
        return hashlib.sha1(self.data).hexdigest()


class RoomAvatars:
    """The pictures of the rooms each user's session has reported."""

    def __init__(
        self,
        *,
        media_of: Callable[[str], MediaSource | None],
        resources_in: Callable[[str, RoomAddress], list[str]],
        room_jid: Callable[[RoomAddress], str],
        send: Callable[[StanzaBase], None],
    ) -> None:
        self._media_of = media_of
        self._resources_in = resources_in
        self._room_jid = room_jid
        self._send = send
        self._avatars: dict[tuple[str, RoomAddress], Avatar] = {}
        self._wanted: dict[tuple[str, RoomAddress], str | None] = {}
        """The latest ref reported: a slower read of an older one is then dropped."""

    async def take(self, user: str, event: RoomAvatar) -> None:
        """Read the picture *event* names and offer it; a failure leaves the room without."""
        key = (user, event.room)
        self._wanted[key] = event.ref
        avatar = None if event.ref is None else await self._read(user, event.ref)
        if key not in self._wanted or self._wanted[key] != event.ref:
            return  # forgotten, or superseded while it was read
        before = self._avatars.pop(key, None)
        if avatar is not None:
            self._avatars[key] = avatar
        if _hash(before) != _hash(avatar):
            self._tell_changed(user, event.room)

    def forget(self, user: str) -> None:
        """The user's session ended: the next one reports its rooms' pictures again."""
        for key in [key for key in self._wanted if key[0] == user]:
            self._wanted.pop(key)
            self._avatars.pop(key, None)

    def info_form(self, user: str, room: RoomAddress) -> InfoForm | None:
        """The room's muc#roominfo form with the picture's hash; None without a picture."""
        avatar = self._avatars.get((user, room))
        if avatar is None:
            return None
        return InfoForm(ROOMINFO, ((AVATAR_HASH, (avatar.sha1,)),))

    def on_vcard(self, iq: Iq, room: RoomAddress) -> None:
        """A vCard-temp request to the room: its picture, or an empty vCard (XEP-0054)."""
        if iq["type"] == "set":
            text = "The room's picture is set on the network; the gateway only shows it."
            self._send(error_reply(iq, XmppError("cancel", "service-unavailable"), text))
            return
        reply: Iq = iq.reply(clear=True)
        vcard = ET.SubElement(reply.xml, f"{{{NS_VCARD}}}vCard")
        avatar = self._avatars.get((iq["from"].bare, room))
        if avatar is not None:
            photo = ET.SubElement(vcard, f"{{{NS_VCARD}}}PHOTO")
            ET.SubElement(photo, f"{{{NS_VCARD}}}TYPE").text = avatar.media_type
            binval = ET.SubElement(photo, f"{{{NS_VCARD}}}BINVAL")
            binval.text = base64.b64encode(avatar.data).decode()
        self._send(reply)

    async def _read(self, user: str, ref: str) -> Avatar | None:
        source = self._media_of(user)
        if source is None:
            return None
        try:
            stream = await source.open_media(ref)
        except LegacyError as failure:
            log.info("the picture of a room of %s is unreadable: %s", user, error_text(failure))
            return None
        try:
            return await _image(stream)
        finally:
            if isinstance(stream.chunks, AsyncGenerator):
                await stream.chunks.aclose()

    def _tell_changed(self, user: str, room: RoomAddress) -> None:
        """XEP-0486: status 104 makes clients in the room ask disco#info again."""
        for resource in self._resources_in(user, room):
            message = Message()
            message["from"] = self._room_jid(room)
            message["to"] = resource
            message["type"] = "groupchat"
            x = ET.SubElement(message.xml, f"{{{NS_MUC_USER}}}x")
            ET.SubElement(x, f"{{{NS_MUC_USER}}}status", code=str(CONFIGURATION_CHANGED))
            self._send(message)


def _hash(avatar: Avatar | None) -> str | None:
    return None if avatar is None else avatar.sha1


async def _image(stream: MediaStream) -> Avatar | None:
    """The picture in *stream*; None when it is no image or larger than clients can take."""
    if not stream.media_type.startswith("image/"):
        log.info("a room picture of type %s is not offered", stream.media_type)
        return None
    data = bytearray()
    async for chunk in stream.chunks:
        data += chunk
        if len(data) > MAX_AVATAR_BYTES:
            log.info("a room picture over %d bytes is not offered", MAX_AVATAR_BYTES)
            return None
    return Avatar(bytes(data), stream.media_type)
