"""Files a client shares (XEP-0066 links, as XEP-0363 uploads are sent): the core decides
whether they travel as attachments or stay in the text, by the network's capabilities."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from slixmpp.stanza import Message

from bridge.addressing import AddressGrammar, RoomAddress
from bridge.message_ids import MessageIds
from bridge.network import Capabilities
from bridge.relation_stanzas import read_relations
from bridge.relations import Relations

URL = "https://upload.example.org/abc/cat.png"
ROOM = RoomAddress("net", "#r")


def shared(body: str, *urls: str) -> Message:
    oob = "".join(f"<x xmlns='jabber:x:oob'><url>{url}</url></x>" for url in urls)
    xml = f"<message xmlns='jabber:client' type='groupchat'><body>{body}</body>{oob}</message>"
    return Message(xml=ET.fromstring(xml))


async def send(capabilities: Capabilities, message: Message) -> tuple[str, tuple[str, ...]]:
    relations = Relations(capabilities, MessageIds(AddressGrammar(room_prefixes="#"), "gw"))
    request = await relations.message(
        "u", ROOM, message["body"], xmpp_id="x1", action=False, relations=read_relations(message)
    )
    return request.body, request.attachments


async def test_a_network_with_media_gets_the_file_and_no_bare_link_as_text() -> None:
    assert await send(Capabilities(media=True), shared(URL, URL)) == ("", (URL,))
    assert await send(Capabilities(media=True), shared("look", URL)) == ("look", (URL,))


async def test_a_network_without_media_keeps_the_link_in_the_text() -> None:
    assert await send(Capabilities(), shared(URL, URL)) == (URL, ())
    assert await send(Capabilities(), shared("", URL)) == (URL, ()), "links alone become the text"


def test_links_are_read_once_each_and_blank_ones_ignored() -> None:
    message = shared(URL, URL, " ", URL, "https://e.org/b")
    assert read_relations(message).shared_urls == (URL, "https://e.org/b")
    assert read_relations(shared("plain")).shared_urls == ()
