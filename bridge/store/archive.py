"""Per-user message archives: XEP-0313 queries paged by XEP-0059 RSM, and history on join.

Archives are per user, like Biboumi's: each XMPP user in a room gets their own copy, so
deleting a user deletes their archive and nobody else's. Messages are ordered by their
time, then by insertion order among messages of the same instant.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select

from bridge.store.engine import Database
from bridge.store.models import ArchiveRow

MAX_PAGE = 100
"""The most messages one page holds, whatever the client asks (XEP-0313 lets us cap it)."""

_IDENTITY = ("gateway", "user", "conversation", "stanza_id")


class UnknownArchiveId(LookupError):
    """An RSM ``after``/``before`` id that names no message of the conversation."""

    def __init__(self, stanza_id: str) -> None:
        super().__init__(f"no archived message has the id {stanza_id!r} in this conversation")
        self.stanza_id = stanza_id


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    gateway: str
    user: str
    """Bare JID of the XMPP user whose archive this is."""
    conversation: str
    """JID local part of the room or contact."""
    stanza_id: str
    """XEP-0359 id the bridge gave the message (a uuid); the RSM cursor."""
    legacy_id: str | None
    origin_id: str | None
    """The XMPP client's own id for messages the user sent."""
    sender: str
    """Nick in a room, or the contact's legacy name."""
    body: str
    when: datetime
    """Timezone-aware UTC."""
    own: bool
    """Sent by the archive's user."""
    action: bool
    """A ``/me`` action."""


_COLUMNS = tuple(field.name for field in fields(ArchivedMessage))


@dataclass(frozen=True, slots=True)
class ArchivePage:
    messages: tuple[ArchivedMessage, ...]
    complete: bool
    """No more messages beyond this page in the direction of paging (XEP-0313 ``complete``)."""


class Archive:
    """Append messages, page through them, and read the recent ones."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, messages: Sequence[ArchivedMessage]) -> None:
        """Store *messages* in one transaction; a message already stored (same id) is skipped."""
        if not messages:
            return
        statement = self._db.insert_new(ArchiveRow, keys=_IDENTITY)
        # Shallow rows: asdict() deep-copies every value, a tenth of the CPU of a busy room.
        rows = [{name: getattr(message, name) for name in _COLUMNS} for message in messages]
        async with self._db.session.begin() as session:
            await session.execute(statement, rows)

    async def query(
        self,
        gateway: str,
        user: str,
        conversation: str,
        *,
        after_id: str | None = None,
        before_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = MAX_PAGE,
        newest_first: bool = False,
        sender: str | None = None,
        since_id: str | None = None,
        until_id: str | None = None,
        ids: Collection[str] = (),
    ) -> ArchivePage:
        """One page of a MAM query, in time order (newest first when *newest_first*: flip-page).

        Without *before_id* the page is the first *limit* messages after *after_id* (or from
        the start); with it, the last *limit* messages before that id, and ``""`` means the
        last page. *start* and *end* bound ``when`` inclusively. *limit* is capped at
        :data:`MAX_PAGE`. *sender*, *since_id*/*until_id* (strictly after/before that message,
        without changing the paging direction: MAM's ``after-id``/``before-id``) and *ids*
        narrow the messages further. Raises :class:`UnknownArchiveId` for an id that names
        nothing.
        """
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        scope = self._conversation(gateway, user, conversation)
        filters = list(scope)
        if start is not None:
            filters.append(ArchiveRow.when >= start)
        if end is not None:
            filters.append(ArchiveRow.when <= end)
        if sender is not None:
            filters.append(ArchiveRow.sender == sender)
        for bound, later in ((after_id, True), (since_id, True), (until_id, False)):
            if bound is not None:
                filters.append(await self._beyond(scope, bound, later=later))
        if ids:
            await self._check_known(scope, ids)
            filters.append(ArchiveRow.stanza_id.in_(ids))
        backwards = before_id is not None
        if before_id:
            filters.append(await self._beyond(scope, before_id, later=False))
        order = (ArchiveRow.when, ArchiveRow.id)
        limit = min(limit, MAX_PAGE)
        query = (
            select(ArchiveRow)
            .where(*filters)
            .order_by(*(column.desc() for column in order) if backwards else order)
            .limit(limit + 1)
        )
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
        page = [_to_value(row) for row in rows[:limit]]
        if backwards:
            page.reverse()
        if newest_first:
            page.reverse()
        return ArchivePage(tuple(page), complete=len(rows) <= limit)

    async def recent(
        self,
        gateway: str,
        user: str,
        conversation: str,
        *,
        limit: int,
        since: datetime | None = None,
    ) -> list[ArchivedMessage]:
        """The last *limit* messages (at or after *since*), oldest first: history on MUC join."""
        filters = self._conversation(gateway, user, conversation)
        if since is not None:
            filters.append(ArchiveRow.when >= since)
        query = (
            select(ArchiveRow)
            .where(*filters)
            .order_by(ArchiveRow.when.desc(), ArchiveRow.id.desc())
            .limit(max(limit, 0))
        )
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
        return [_to_value(row) for row in reversed(rows)]

    async def _beyond(
        self, scope: list[ColumnElement[bool]], stanza_id: str, *, later: bool
    ) -> ColumnElement[bool]:
        """The condition "after (or before) message *stanza_id* of *scope*" in archive order."""
        async with self._db.session() as session:
            found = (
                await session.execute(
                    select(ArchiveRow.when, ArchiveRow.id).where(
                        *scope, ArchiveRow.stanza_id == stanza_id
                    )
                )
            ).one_or_none()
        if found is None:
            raise UnknownArchiveId(stanza_id)
        when, row_id = found
        if later:
            return or_(
                ArchiveRow.when > when, and_(ArchiveRow.when == when, ArchiveRow.id > row_id)
            )
        return or_(ArchiveRow.when < when, and_(ArchiveRow.when == when, ArchiveRow.id < row_id))

    async def _check_known(self, scope: list[ColumnElement[bool]], ids: Collection[str]) -> None:
        async with self._db.session() as session:
            found = set(
                await session.scalars(
                    select(ArchiveRow.stanza_id).where(*scope, ArchiveRow.stanza_id.in_(ids))
                )
            )
        missing = sorted(set(ids) - found)
        if missing:
            raise UnknownArchiveId(missing[0])

    @staticmethod
    def _conversation(gateway: str, user: str, conversation: str) -> list[ColumnElement[bool]]:
        return [
            ArchiveRow.gateway == gateway,
            ArchiveRow.user == user,
            ArchiveRow.conversation == conversation,
        ]


def _to_value(row: ArchiveRow) -> ArchivedMessage:
    return ArchivedMessage(
        gateway=row.gateway,
        user=row.user,
        conversation=row.conversation,
        stanza_id=row.stanza_id,
        legacy_id=row.legacy_id,
        origin_id=row.origin_id,
        sender=row.sender,
        body=row.body,
        when=row.when,
        own=row.own,
        action=row.action,
    )
