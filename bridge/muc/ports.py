"""What the MUC service needs from the rest of the gateway: sessions and an archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bridge.addressing import RoomAddress
from bridge.network import LegacySession


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    """One room message as the archive keeps it (the body without the ``/me`` marker)."""

    stanza_id: str
    sender: str
    body: str
    when: datetime
    action: bool = False
    legacy_id: str | None = None
    origin_id: str | None = None
    own: bool = False


class SessionAccess(Protocol):
    async def session_for(self, user: str) -> LegacySession:
        """The user's (bare JID) legacy session, logging in if needed; raises bridge.errors."""
        ...


class RoomArchive(Protocol):
    def record(self, user: str, room: RoomAddress, message: ArchivedMessage) -> None:
        """Keep *message*; must not wait for the database."""
        ...

    async def recent(
        self,
        user: str,
        room: RoomAddress,
        *,
        max_stanzas: int | None,
        since: datetime | None,
    ) -> list[ArchivedMessage]:
        """The newest messages (oldest first), at most *max_stanzas*, none before *since*."""
        ...
