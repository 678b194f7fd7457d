"""Attachments on their way to XMPP: a signed link on the gateway's media proxy, announced
with XEP-0066 (``jabber:x:oob``), or a note when the operator runs no HTTP server.

The body carries the link as well: a client without XEP-0066 shows it as text, and
Conversations shows the file inline when the body is exactly the link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree import ElementTree as ET

from slixmpp.stanza import Message

from bridge.events import Attachment, MessageIn
from bridge.http.signing import MediaGrant, MediaSigner

NS_OOB = "jabber:x:oob"
HTTP_OFF_NOTE = "(attachment: {name}, not available: the gateway's HTTP server is off)"


@dataclass(frozen=True, slots=True)
class MediaPublisher:
    """Makes one gateway's attachment links on the media proxy at *base_url*."""

    gateway: str
    signer: MediaSigner
    base_url: str
    ttl_seconds: int

    def url_for(self, user: str, attachment: Attachment) -> str:
        expires = int(time.time()) + self.ttl_seconds
        token = self.signer.sign(MediaGrant(self.gateway, user, attachment.ref, expires))
        url = f"{self.base_url}/media/{token}"
        return f"{url}/{quote(attachment.name, safe='')}" if attachment.name else url


@dataclass(frozen=True, slots=True)
class MediaLink:
    url: str
    name: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message's text with its attachments in it, and the links to announce."""

    body: str
    links: tuple[MediaLink, ...] = ()

    def decorate(self, message: Message) -> None:
        """Add one XEP-0066 ``<x/>`` per link to *message*."""
        for link in self.links:
            x = ET.SubElement(message.xml, f"{{{NS_OOB}}}x")
            ET.SubElement(x, f"{{{NS_OOB}}}url").text = link.url
            if link.name:
                ET.SubElement(x, f"{{{NS_OOB}}}desc").text = link.name


class AttachmentRenderer:
    """Puts a message's attachments into what XMPP clients read; *publisher* is None
    when the HTTP server is off."""

    def __init__(self, publisher: MediaPublisher | None) -> None:
        self._publisher = publisher

    def render(self, user: str, event: MessageIn) -> RenderedMessage:
        if not event.attachments:
            return RenderedMessage(event.body)
        if self._publisher is None:
            notes = [HTTP_OFF_NOTE.format(name=_label(a)) for a in event.attachments]
            return RenderedMessage(_with_lines(event.body, notes))
        publisher = self._publisher
        links = tuple(MediaLink(publisher.url_for(user, a), a.name) for a in event.attachments)
        return RenderedMessage(_with_lines(event.body, [link.url for link in links]), links)


def both(
    first: Callable[[Message], None] | None, second: Callable[[Message], None]
) -> Callable[[Message], None]:
    """One stanza decorator doing what *first* (if any) and then *second* do."""
    if first is None:
        return second

    def decorate(message: Message) -> None:
        first(message)
        second(message)

    return decorate


def _label(attachment: Attachment) -> str:
    return attachment.name or attachment.media_type or "a file"


def _with_lines(text: str, lines: list[str]) -> str:
    return "\n".join([text, *lines] if text.strip() else lines)
