"""What a client's correction, reply, reaction, retraction or marker becomes on the network.

The client names the message it refers to by an XMPP id; :class:`MessageIds` turns that
into the legacy id. The network's :class:`~bridge.network.Capabilities` decide between
the real thing and a fallback, so rooms and chats never ask which network this is:

- correction without edits: a new message, the text behind :data:`CORRECTION_MARKER`;
- reply without replies: the client's own quote, or ``> author: start of the original``;
- reaction without reactions: a text ``reacted 👍 to «start of the original»``;
- retraction without edits (the network cannot remove a message): an error to the client;
- read markers without receipts, typing without typing: dropped;
- shared files (XEP-0066 links) without media: the links stay in the text, as the client
  wrote them; with media they become ``SendMessage.attachments`` and leave the text when
  the text is nothing but the link (as XEP-0363 clients send it).
"""

from __future__ import annotations

import uuid

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress
from bridge.errors import NotSupported
from bridge.events import (
    Displayed,
    LegacyEvent,
    MarkDisplayed,
    MessageIn,
    React,
    Reaction,
    Retract,
    Retraction,
    SendMessage,
    SendTyping,
    UserAction,
)
from bridge.message_ids import MessageIds
from bridge.network import Capabilities
from bridge.relation_stanzas import ClientRelations, without_fallback

CORRECTION_MARKER = "* "

Target = RoomAddress | ContactAddress | ServerAddress


class Relations:
    """XMPP relations → legacy actions, for one gateway."""

    def __init__(self, capabilities: Capabilities, ids: MessageIds) -> None:
        self._capabilities = capabilities
        self.ids = ids

    async def message(
        self,
        user: str,
        target: Target,
        body: str,
        *,
        xmpp_id: str,
        action: bool,
        relations: ClientRelations,
    ) -> SendMessage:
        """The SendMessage for a text message that may correct or answer another one."""
        replaces = reply_to = None
        if relations.replaces is not None:
            replaces = await self._legacy(
                user, target, relations.replaces, self._capabilities.edits
            )
            if replaces is None:
                body = CORRECTION_MARKER + body
        reply = relations.reply
        if reply is not None:
            reply_to = await self._legacy(
                user, target, reply.message_id, self._capabilities.replies
            )
            if reply_to is not None:
                body = without_fallback(body, reply)
            elif not reply.fallback:
                body = self._quote(user, target, reply.message_id) + body
        attachments = relations.shared_urls if self._capabilities.media else ()
        if attachments and body.strip() in attachments:
            body = ""
        elif not attachments and relations.shared_urls and not body.strip():
            body = "\n".join(relations.shared_urls)  # a network without files gets the links
        return SendMessage(
            target,
            body,
            xmpp_id,
            action,
            replaces=replaces,
            reply_to=reply_to,
            attachments=attachments,
        )

    async def signal(
        self, user: str, target: RoomAddress | ContactAddress, relations: ClientRelations
    ) -> UserAction | None:
        """The action for a message without text of its own; None when nothing is to be done.

        Raises NotSupported when the network cannot do what the client asked.
        """
        if relations.retracts is not None:
            return await self._retract(user, target, relations.retracts)
        if relations.reactions_to is not None:
            return await self._react(user, target, relations.reactions_to, relations.reactions)
        if relations.displayed is not None:
            legacy_id = await self._legacy(
                user, target, relations.displayed, self._capabilities.receipts
            )
            return None if legacy_id is None else MarkDisplayed(target, legacy_id)
        if relations.chat_state is not None and self._capabilities.typing:
            return SendTyping(target, relations.chat_state == "composing")
        return None

    async def _retract(
        self, user: str, target: RoomAddress | ContactAddress, xmpp_id: str
    ) -> Retract:
        if not self._capabilities.edits:
            raise NotSupported("This network cannot take a message back once it is sent.")
        legacy_id = await self.ids.legacy_id(user, target, xmpp_id)
        if legacy_id is None:
            raise NotSupported("The network never gave that message an id; it cannot be removed.")
        return Retract(target, legacy_id)

    async def _react(
        self,
        user: str,
        target: RoomAddress | ContactAddress,
        xmpp_id: str,
        emojis: tuple[str, ...],
    ) -> UserAction | None:
        legacy_id = await self._legacy(user, target, xmpp_id, self._capabilities.reactions)
        if legacy_id is not None:
            return React(target, legacy_id, emojis)
        if not emojis:
            return None  # a text once sent cannot be taken back
        known = self.ids.by_xmpp(user, target, xmpp_id)
        quoted = f" to «{known.excerpt}»" if known is not None and known.excerpt else ""
        text = f"reacted {' '.join(emojis)}{quoted}"
        return SendMessage(target, text, str(uuid.uuid4()))

    async def _legacy(self, user: str, target: Target, xmpp_id: str, usable: bool) -> str | None:
        """The legacy id behind *xmpp_id* when the network can use it (*usable*), else None."""
        if not usable:
            return None
        return await self.ids.legacy_id(user, target, xmpp_id)

    def forgotten(self, user: str, event: LegacyEvent) -> list[tuple[Target, str]]:
        """The legacy ids *event* refers to that memory no longer holds."""
        return [
            (where, legacy_id)
            for where, legacy_id in referenced(event)
            if self.ids.by_legacy(user, where, legacy_id) is None
        ]

    async def recall(self, user: str, forgotten: list[tuple[Target, str]]) -> None:
        """Bring *forgotten* ids back from the store, so the event can be delivered."""
        for where, legacy_id in forgotten:
            await self.ids.load_legacy(user, where, legacy_id)

    def _quote(self, user: str, target: Target, xmpp_id: str) -> str:
        known = self.ids.by_xmpp(user, target, xmpp_id)
        if known is None or not known.excerpt:
            return ""
        author = f"{known.author}: " if known.author else ""
        return f"> {author}{known.excerpt}\n"


def referenced(event: LegacyEvent) -> list[tuple[Target, str]]:
    """(conversation, legacy id) of every message *event* names besides itself."""
    if isinstance(event, MessageIn):
        named = (event.replaces, event.reply_to)
    elif isinstance(event, Reaction | Retraction):
        named = (event.target_legacy_id, None)
    elif isinstance(event, Displayed):
        named = (event.legacy_id, None)
    else:
        return []
    return [(event.source, legacy_id) for legacy_id in named if legacy_id is not None]
