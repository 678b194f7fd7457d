"""Message relations on the wire: corrections, replies, reactions, retractions, markers, typing.

Pure readers of what a client puts in a message (XEP-0308 ``<replace/>``, XEP-0461
``<reply/>`` with its XEP-0428 fallback, XEP-0444 ``<reactions/>``, XEP-0424 ``<retract/>``,
XEP-0333 ``<displayed/>``, XEP-0085 chat states) and builders of the same elements for
what the legacy network reports. No ids are translated here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from slixmpp.stanza import Message

from bridge.attachments import NS_OOB
from bridge.network import Capabilities

NS_CORRECT = "urn:xmpp:message-correct:0"
NS_REPLY = "urn:xmpp:reply:0"
NS_FALLBACK = "urn:xmpp:fallback:0"
NS_REACTIONS = "urn:xmpp:reactions:0"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_MODERATE = "urn:xmpp:message-moderate:1"
NS_MARKERS = "urn:xmpp:chat-markers:0"
NS_CHAT_STATES = "http://jabber.org/protocol/chatstates"
NS_HINTS = "urn:xmpp:hints"

Decorate = Callable[[Message], None]
"""Adds elements to a stanza about to be sent."""


def relation_features(capabilities: Capabilities) -> tuple[str, ...]:
    """The disco features the network's capabilities make true (fallbacks cover the rest)."""
    wanted = (
        (capabilities.edits, (NS_CORRECT, NS_RETRACT)),
        (capabilities.reactions, (NS_REACTIONS,)),
        (capabilities.replies, (NS_REPLY,)),
        (capabilities.receipts, (NS_MARKERS,)),
        (capabilities.typing, (NS_CHAT_STATES,)),
    )
    return tuple(feature for able, features in wanted if able for feature in features)


_CHAT_STATES = ("active", "composing", "paused", "inactive", "gone")


@dataclass(frozen=True, slots=True)
class Reply:
    """A XEP-0461 reply: the id of the message answered, and who wrote it (a JID)."""

    message_id: str
    to: str | None
    fallback: str
    """The quote the client put before the text (XEP-0428), empty when it put none."""


@dataclass(frozen=True, slots=True)
class ClientRelations:
    """What a client's message refers to; every field None when it is a plain message."""

    replaces: str | None = None
    reply: Reply | None = None
    reactions_to: str | None = None
    reactions: tuple[str, ...] = ()
    retracts: str | None = None
    displayed: str | None = None
    chat_state: str | None = None
    shared_urls: tuple[str, ...] = ()
    """Files the client shares as XEP-0066 links (how XEP-0363 uploads are sent too)."""

    @property
    def is_signal(self) -> bool:
        """A message that says something about another one and carries no text of its own."""
        return self.reactions_to is not None or self.retracts is not None


def read_relations(message: Message) -> ClientRelations:
    """The relation elements of *message* (malformed ones, without an id, are ignored)."""
    xml = message.xml
    if _RELATION_TAGS.isdisjoint(child.tag for child in xml):
        return PLAIN  # most messages: no element to look for
    reactions = xml.find(f"{{{NS_REACTIONS}}}reactions")
    displayed = xml.find(f"{{{NS_MARKERS}}}displayed")
    return ClientRelations(
        replaces=_id_of(xml.find(f"{{{NS_CORRECT}}}replace")),
        reply=_reply_of(xml, message["body"]),
        reactions_to=_id_of(reactions),
        reactions=_emojis(reactions),
        retracts=_id_of(xml.find(f"{{{NS_RETRACT}}}retract")),
        displayed=_id_of(displayed),
        chat_state=next(
            (
                state
                for state in _CHAT_STATES
                if xml.find(f"{{{NS_CHAT_STATES}}}{state}") is not None
            ),
            None,
        ),
        shared_urls=_shared_urls(xml),
    )


PLAIN = ClientRelations()
_RELATION_TAGS = frozenset(
    {
        f"{{{NS_CORRECT}}}replace",
        f"{{{NS_REPLY}}}reply",
        f"{{{NS_REACTIONS}}}reactions",
        f"{{{NS_RETRACT}}}retract",
        f"{{{NS_MARKERS}}}displayed",
        f"{{{NS_OOB}}}x",
        *(f"{{{NS_CHAT_STATES}}}{state}" for state in _CHAT_STATES),
    }
)
"""The children read_relations looks at."""


def _shared_urls(xml: ET.Element) -> tuple[str, ...]:
    urls = (url.text for url in xml.iterfind(f"{{{NS_OOB}}}x/{{{NS_OOB}}}url"))
    return tuple(dict.fromkeys(url.strip() for url in urls if url and url.strip()))


def without_fallback(body: str, reply: Reply | None) -> str:
    """*body* without the client's reply quote, for networks that show replies themselves."""
    if reply is None or not reply.fallback or not body.startswith(reply.fallback):
        return body
    return body[len(reply.fallback) :]


def _id_of(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    return element.get("id") or None


def _emojis(reactions: ET.Element | None) -> tuple[str, ...]:
    if reactions is None:
        return ()
    found = (r.text.strip() for r in reactions.findall(f"{{{NS_REACTIONS}}}reaction") if r.text)
    return tuple(dict.fromkeys(emoji for emoji in found if emoji))


def _reply_of(xml: ET.Element, body: str) -> Reply | None:
    element = xml.find(f"{{{NS_REPLY}}}reply")
    message_id = _id_of(element)
    if element is None or message_id is None:
        return None
    return Reply(message_id, element.get("to") or None, _reply_fallback(xml, body))


def _reply_fallback(xml: ET.Element, body: str) -> str:
    for fallback in xml.findall(f"{{{NS_FALLBACK}}}fallback"):
        if fallback.get("for") != NS_REPLY:
            continue
        span = fallback.find(f"{{{NS_FALLBACK}}}body")
        start = _index(span.get("start") if span is not None else None)
        end = _index(span.get("end") if span is not None else None)
        if start == 0 and end is not None and end <= len(body):
            return body[:end]
    return ""


def _index(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


# ----------------------------------------------------------------------------- building


def add_replace(message: Message, original_id: str) -> None:
    """Mark *message* as the correction of *original_id* (XEP-0308)."""
    ET.SubElement(message.xml, f"{{{NS_CORRECT}}}replace", {"id": original_id})


def add_reply(message: Message, original_id: str, author: str | None) -> None:
    """Mark *message* as an answer to *original_id*, written by the JID *author* (XEP-0461)."""
    attributes = {"id": original_id}
    if author:
        attributes["to"] = author
    ET.SubElement(message.xml, f"{{{NS_REPLY}}}reply", attributes)


def relation_links(
    replaced_id: str | None, answered_id: str | None, answered_author: str | None
) -> Decorate | None:
    """The <replace/> and <reply/> an incoming message needs, by the ids its recipient knows
    the originals by (chats and rooms differ); None when neither original is known."""
    if replaced_id is None and answered_id is None:
        return None

    def decorate(message: Message) -> None:
        if replaced_id is not None:
            add_replace(message, replaced_id)
        if answered_id is not None:
            add_reply(message, answered_id, answered_author)

    return decorate


def add_markable(message: Message) -> None:
    """Ask the client for a read marker on *message* (XEP-0333)."""
    ET.SubElement(message.xml, f"{{{NS_MARKERS}}}markable")


def copy_relations(source: Message, target: Message) -> None:
    """Carry the client's correction and reply elements into the room's reflection."""
    for tag in (f"{{{NS_CORRECT}}}replace", f"{{{NS_REPLY}}}reply"):
        element = source.xml.find(tag)
        if element is not None:
            ET.SubElement(target.xml, tag, dict(element.attrib))


def signal_copy(source: Message, *, origin: str, to: str, stanza_id: str, by: str) -> Message:
    """The room's reflection of a client's reaction or retraction, with a stanza-id."""
    message = _bare(origin, to, "groupchat")
    if source["id"]:
        message["id"] = source["id"]
    for tag in (f"{{{NS_REACTIONS}}}reactions", f"{{{NS_RETRACT}}}retract"):
        element = source.xml.find(tag)
        if element is not None:
            message.xml.append(copy.deepcopy(element))
    ET.SubElement(message.xml, "{urn:xmpp:sid:0}stanza-id", {"id": stanza_id, "by": by})
    return message


def reactions_message(
    *, origin: str, to: str, kind: str, target_id: str, emojis: tuple[str, ...]
) -> Message:
    """The sender's full set of reactions to *target_id* (XEP-0444)."""
    message = _bare(origin, to, kind)
    reactions = ET.SubElement(message.xml, f"{{{NS_REACTIONS}}}reactions", {"id": target_id})
    for emoji in emojis:
        ET.SubElement(reactions, f"{{{NS_REACTIONS}}}reaction").text = emoji
    ET.SubElement(message.xml, f"{{{NS_HINTS}}}store")
    return message


def retraction_message(
    *,
    origin: str,
    to: str,
    kind: str,
    target_id: str,
    moderator: str | None = None,
    reason: str = "",
) -> Message:
    """Take back *target_id* (XEP-0424); with *moderator* (a JID) a XEP-0425 moderation."""
    message = _bare(origin, to, kind)
    retract = ET.SubElement(message.xml, f"{{{NS_RETRACT}}}retract", {"id": target_id})
    if moderator is not None:
        ET.SubElement(retract, f"{{{NS_MODERATE}}}moderated", {"by": moderator})
    if reason:
        ET.SubElement(retract, f"{{{NS_RETRACT}}}reason").text = reason
    message["body"] = "This message was removed." if moderator else "This message was retracted."
    ET.SubElement(message.xml, f"{{{NS_FALLBACK}}}fallback", {"for": NS_RETRACT})
    ET.SubElement(message.xml, f"{{{NS_HINTS}}}store")
    return message


def displayed_message(*, origin: str, to: str, kind: str, target_id: str) -> Message:
    """*origin* has read up to *target_id* (XEP-0333)."""
    message = _bare(origin, to, kind)
    ET.SubElement(message.xml, f"{{{NS_MARKERS}}}displayed", {"id": target_id})
    return message


def chat_state_message(*, origin: str, to: str, kind: str, composing: bool) -> Message:
    """*origin* is typing, or stopped (XEP-0085)."""
    message = _bare(origin, to, kind)
    ET.SubElement(message.xml, f"{{{NS_CHAT_STATES}}}{'composing' if composing else 'paused'}")
    ET.SubElement(message.xml, f"{{{NS_HINTS}}}no-store")
    return message


def _bare(origin: str, to: str, kind: str) -> Message:
    message = Message(stream=None)
    message["from"] = origin
    message["to"] = to
    message["type"] = kind
    return message
