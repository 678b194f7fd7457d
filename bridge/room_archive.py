"""The archive port of rooms (and of private chats), on the store's batched writer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bridge.addressing import ContactAddress, Grammar, RoomAddress
from bridge.muc.ports import ArchivedMessage as RoomMessage
from bridge.store.archive import ArchivedMessage
from bridge.store.archive_writer import ArchiveWriter


class RoomArchive:
    """Records room messages per user without waiting for the database."""

    def __init__(
        self,
        writer: ArchiveWriter,
        gateway: str,
        grammar: Grammar,
        records: Callable[[str, RoomAddress | ContactAddress], bool],
    ) -> None:
        self._writer = writer
        self._gateway = gateway
        self._grammar = grammar
        self._records = records

    def record(self, user: str, room: RoomAddress | ContactAddress, message: RoomMessage) -> None:
        if not self._records(user, room):
            return
        self._writer.append(
            ArchivedMessage(
                gateway=self._gateway,
                user=user,
                conversation=self._grammar.format(room),
                stanza_id=message.stanza_id,
                legacy_id=message.legacy_id,
                origin_id=message.origin_id,
                sender=message.sender,
                body=message.body,
                when=message.when,
                own=message.own,
                action=message.action,
            )
        )

    async def recent(
        self, user: str, room: RoomAddress, *, max_stanzas: int | None, since: datetime | None
    ) -> list[RoomMessage]:
        rows = await self._writer.recent(
            self._gateway,
            user,
            self._grammar.format(room),
            limit=max_stanzas if max_stanzas is not None else 100,
            since=since,
        )
        return [
            RoomMessage(
                stanza_id=row.stanza_id,
                sender=row.sender,
                body=row.body,
                when=row.when,
                action=row.action,
                legacy_id=row.legacy_id,
                origin_id=row.origin_id,
                own=row.own,
            )
            for row in rows
        ]
