"""The bridge's storage: one object that opens the database and holds a table API per purpose.

Secrets: the store takes a :class:`bridge.secrets.SecretBox` and seals every secret
(registration and settings secrets, room keys) itself before it reaches SQL, and opens
them when reading. Callers hand over and get back plain ``dict[str, str]``; the database
only ever holds the sealed blobs.

``Store.open`` does not migrate: run :func:`bridge.store.migrate.upgrade` first (the
``xmpp-bridge db upgrade`` command, and ``run`` at start-up, do).
"""

from __future__ import annotations

from bridge.secrets import SecretBox
from bridge.store.archive import Archive
from bridge.store.engine import Database, delete_matching
from bridge.store.idmap import IdMap, SyncTokens
from bridge.store.models import USER_TABLES
from bridge.store.registrations import Registrations
from bridge.store.rooms import JoinedRooms
from bridge.store.settings import SettingsTable


class Store:
    """Typed async access to every table; values come back as frozen dataclasses."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self.registrations = Registrations(db, box)
        self.settings = SettingsTable(db, box)
        self.rooms = JoinedRooms(db, box)
        self.ids = IdMap(db)
        self.sync_tokens = SyncTokens(db)
        self.archive = Archive(db)

    @classmethod
    def open(cls, url: str, box: SecretBox) -> Store:
        """Connect lazily to *url* (``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``)."""
        return cls(Database.open(url), box)

    async def close(self) -> None:
        await self._db.engine.dispose()

    async def delete_user(self, gateway: str, user: str) -> None:
        """Remove all that is stored for *user* on *gateway*, in one transaction (XEP-0077)."""
        async with self._db.session.begin() as session:
            for model in USER_TABLES:
                await session.execute(delete_matching(model, gateway=gateway, user=user))
        self.registrations.forget(gateway, user)
        self.settings.forget(gateway, user)
