"""Legacy relations in one-to-one chats: edits, replies, reactions, removals, read markers.

In a chat every message is named by its ``id`` (the gateway sets it equal to the
stanza-id for what it delivers; the user's client chose it for what the user sent).
"""

from __future__ import annotations

from collections.abc import Callable

from slixmpp.stanza import Message

from bridge.addressing import ContactAddress, ServerAddress
from bridge.events import Displayed, LegacyEvent, MessageIn, MessageSent, Reaction, Retraction
from bridge.message_ids import KnownMessage, MessageIds
from bridge.relation_stanzas import (
    Decorate,
    displayed_message,
    reactions_message,
    relation_links,
    retraction_message,
)


class ChatRelations:
    """Keeps the chat id map and turns legacy relation events into chat stanzas."""

    def __init__(
        self,
        ids: MessageIds,
        jid_of: Callable[[ContactAddress | ServerAddress], str],
        send: Callable[[Message], None],
    ) -> None:
        self._ids = ids
        self._jid_of = jid_of
        self._send = send

    def links(self, user: str, event: MessageIn) -> Decorate | None:
        """The <replace/> and <reply/> an incoming message needs, when the originals are known."""
        source = event.source
        assert isinstance(source, ContactAddress | ServerAddress)
        replaced = self._known(user, source, event.replaces)
        answered = self._known(user, source, event.reply_to)
        return relation_links(
            None if replaced is None else replaced.message_id,
            None if answered is None else answered.message_id,
            None if answered is None else answered.author or None,
        )

    def handle(self, user: str, event: LegacyEvent) -> bool:
        """Apply a relation event about a chat; False when it is not one."""
        if isinstance(event, MessageSent):
            if isinstance(event.target, ContactAddress | ServerAddress):
                self._ids.bind(user, event.target, event.xmpp_id, event.legacy_id)
            return True
        if not isinstance(event, Reaction | Retraction | Displayed):
            return False
        source = event.source
        if not isinstance(source, ContactAddress):
            return False
        if isinstance(event, Reaction) and event.own:
            return True  # the gateway cannot speak as the user to their own client
        legacy_id = event.legacy_id if isinstance(event, Displayed) else event.target_legacy_id
        target = self._known(user, source, legacy_id)
        if target is not None:
            self._send(self._stanza(user, source, event, target))
        return True

    def _stanza(
        self,
        user: str,
        source: ContactAddress,
        event: Reaction | Retraction | Displayed,
        target: KnownMessage,
    ) -> Message:
        origin, to = self._jid_of(source), user
        if isinstance(event, Reaction):
            return reactions_message(
                origin=origin, to=to, kind="chat", target_id=target.message_id, emojis=event.emojis
            )
        if isinstance(event, Displayed):
            return displayed_message(origin=origin, to=to, kind="chat", target_id=target.message_id)
        return retraction_message(
            origin=origin, to=to, kind="chat", target_id=target.message_id, reason=event.reason
        )

    def _known(
        self, user: str, source: ContactAddress | ServerAddress, legacy_id: str | None
    ) -> KnownMessage | None:
        return None if legacy_id is None else self._ids.by_legacy(user, source, legacy_id)
