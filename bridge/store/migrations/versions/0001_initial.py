"""Every table of the first release.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owner(*keys: str) -> list[sa.Column[str]]:
    """The (gateway, user[, …]) key columns every table starts with."""
    return [sa.Column(name, sa.String(), primary_key=True) for name in ("gateway", "user", *keys)]


def upgrade() -> None:
    op.create_table(
        "registrations",
        *_owner(),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=False),
        sa.Column("stay_connected", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "settings",
        *_owner("scope"),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "joined_rooms",
        *_owner("room"),
        sa.Column("nick", sa.String(), nullable=False),
        sa.Column("password", sa.LargeBinary(), nullable=True),
        sa.Column("persistent", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "archive",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("gateway", sa.String(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("conversation", sa.String(), nullable=False),
        sa.Column("stanza_id", sa.String(), nullable=False),
        sa.Column("legacy_id", sa.String(), nullable=True),
        sa.Column("origin_id", sa.String(), nullable=True),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("when", sa.DateTime(timezone=True), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("action", sa.Boolean(), nullable=False),
        sa.UniqueConstraint(
            "gateway", "user", "conversation", "stanza_id", name="uq_archive_stanza_id"
        ),
    )
    op.create_index(
        "ix_archive_conversation_when", "archive", ["gateway", "user", "conversation", "when"]
    )
    op.create_table(
        "id_map",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("gateway", sa.String(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("conversation", sa.String(), nullable=False),
        sa.Column("xmpp_id", sa.String(), nullable=False),
        sa.Column("legacy_id", sa.String(), nullable=False),
        sa.UniqueConstraint("gateway", "user", "conversation", "xmpp_id", name="uq_id_map_xmpp_id"),
    )
    op.create_index(
        "ix_id_map_legacy_id", "id_map", ["gateway", "user", "conversation", "legacy_id"]
    )
    op.create_table(
        "sync_tokens",
        *_owner(),
        sa.Column("token", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("sync_tokens", "id_map", "archive", "joined_rooms", "settings", "registrations"):
        op.drop_table(table)
