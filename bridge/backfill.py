"""A network's past room messages (``HistoryIn``) into the user's archive, never sent live.

A first login finds rooms with a history the gateway never saw; kept in the archive, it is
what MAM and the history on joining show. A message the archive already holds (matched by
its legacy id) is not kept twice.
"""

from __future__ import annotations

import uuid

from bridge.attachments import AttachmentRenderer
from bridge.events import HistoryIn, MessageIn
from bridge.message_ids import MessageIds
from bridge.muc.output import now
from bridge.muc.ports import ArchivedMessage, RoomArchive
from bridge.muc.stanzas import clean_text


class Backfill:
    """Writes past messages into the room archive with stanza ids and their own times."""

    def __init__(
        self, archive: RoomArchive, ids: MessageIds, attachments: AttachmentRenderer
    ) -> None:
        self._archive = archive
        self._ids = ids
        self._attachments = attachments

    async def take(self, user: str, history: HistoryIn) -> None:
        for event in history.messages:
            if await self._known(user, history, event):
                continue
            body = clean_text(self._attachments.render(user, event).body)
            if not body.strip():
                continue
            message = ArchivedMessage(
                stanza_id=str(uuid.uuid4()),
                sender=event.nick or "",
                body=body,
                when=event.when or now(),
                action=event.action,
                legacy_id=event.legacy_id,
                own=event.own,
            )
            self._archive.record(user, history.room, message)
            self._ids.remember(
                user,
                history.room,
                message_id=message.stanza_id,
                stanza_id=message.stanza_id,
                legacy_id=message.legacy_id,
                author=message.sender,
                body=message.body,
            )

    async def _known(self, user: str, history: HistoryIn, event: MessageIn) -> bool:
        if event.legacy_id is None:
            return False
        await self._ids.load_legacy(user, history.room, event.legacy_id)
        return self._ids.by_legacy(user, history.room, event.legacy_id) is not None
