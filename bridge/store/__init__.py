"""Storage: SQLite by default, PostgreSQL by URL, Alembic migrations, secrets sealed at rest."""

from bridge.store.archive import ArchivedMessage, ArchivePage, UnknownArchiveId
from bridge.store.archive_writer import ArchiveWriter
from bridge.store.engine import DatabaseUrlError
from bridge.store.migrate import upgrade
from bridge.store.registrations import Registration
from bridge.store.rooms import JoinedRoom
from bridge.store.settings import Settings
from bridge.store.store import Store

__all__ = [
    "ArchivePage",
    "ArchiveWriter",
    "ArchivedMessage",
    "DatabaseUrlError",
    "JoinedRoom",
    "Registration",
    "Settings",
    "Store",
    "UnknownArchiveId",
    "upgrade",
]
