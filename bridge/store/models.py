"""The tables, as SQLAlchemy ORM models.

They mirror migration ``0001_initial`` exactly (a test compares the two): change a
table here only together with a new migration. Secrets live only in ``LargeBinary``
columns as :class:`bridge.secrets.SecretBox` blobs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given: pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, bytes: LargeBinary}


class RegistrationRow(Base):
    __tablename__ = "registrations"

    gateway: Mapped[str] = mapped_column(String, primary_key=True)
    user: Mapped[str] = mapped_column(String, primary_key=True)
    fields: Mapped[dict[str, Any]]
    secrets: Mapped[bytes]
    stay_connected: Mapped[bool]
    created: Mapped[datetime]
    updated: Mapped[datetime]


class SettingRow(Base):
    __tablename__ = "settings"

    gateway: Mapped[str] = mapped_column(String, primary_key=True)
    user: Mapped[str] = mapped_column(String, primary_key=True)
    scope: Mapped[str] = mapped_column(String, primary_key=True)
    values: Mapped[dict[str, Any]]
    secrets: Mapped[bytes]


class JoinedRoomRow(Base):
    __tablename__ = "joined_rooms"

    gateway: Mapped[str] = mapped_column(String, primary_key=True)
    user: Mapped[str] = mapped_column(String, primary_key=True)
    room: Mapped[str] = mapped_column(String, primary_key=True)
    nick: Mapped[str] = mapped_column(String)
    password: Mapped[bytes | None]
    persistent: Mapped[bool]
    resources: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    """Full JIDs that were in the room, let back in after a restart."""


class ArchiveRow(Base):
    __tablename__ = "archive"
    __table_args__ = (
        UniqueConstraint(
            "gateway", "user", "conversation", "stanza_id", name="uq_archive_stanza_id"
        ),
        Index("ix_archive_conversation_when", "gateway", "user", "conversation", "when"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String)
    user: Mapped[str] = mapped_column(String)
    conversation: Mapped[str] = mapped_column(String)
    stanza_id: Mapped[str] = mapped_column(String)
    legacy_id: Mapped[str | None] = mapped_column(String)
    origin_id: Mapped[str | None] = mapped_column(String)
    sender: Mapped[str] = mapped_column(String)
    body: Mapped[str] = mapped_column(Text)
    when: Mapped[datetime]
    own: Mapped[bool]
    action: Mapped[bool]


class IdMapRow(Base):
    __tablename__ = "id_map"
    __table_args__ = (
        UniqueConstraint("gateway", "user", "conversation", "xmpp_id", name="uq_id_map_xmpp_id"),
        Index("ix_id_map_legacy_id", "gateway", "user", "conversation", "legacy_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String)
    user: Mapped[str] = mapped_column(String)
    conversation: Mapped[str] = mapped_column(String)
    xmpp_id: Mapped[str] = mapped_column(String)
    legacy_id: Mapped[str] = mapped_column(String)


class SyncTokenRow(Base):
    __tablename__ = "sync_tokens"

    gateway: Mapped[str] = mapped_column(String, primary_key=True)
    user: Mapped[str] = mapped_column(String, primary_key=True)
    token: Mapped[str] = mapped_column(Text)


USER_TABLES: tuple[type[Base], ...] = (
    RegistrationRow,
    SettingRow,
    JoinedRoomRow,
    ArchiveRow,
    IdMapRow,
    SyncTokenRow,
)
"""Every table keyed by (gateway, user): what deleting a user clears."""
