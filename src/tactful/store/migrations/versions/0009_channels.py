"""Schema for issue 14 (channels): provider credentials, the delivery outbox, the knowledge base.

Revision ID: 0009_channels
Revises: 0008_hardening
Create Date: 2026-12-04

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0009_channels"
down_revision: str | Sequence[str] | None = "0008_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=f"fk_{table}_tenant_id_tenants")


def upgrade() -> None:
    op.create_table(
        "channel_credentials",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "provider", name="pk_channel_credentials"),
        _tenant_fk("channel_credentials"),
    )
    op.create_table(
        "deliveries",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("recipients", sa.LargeBinary(), nullable=False),
        sa.Column("fallback_from", sa.String(16), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "decision_id", name="pk_deliveries"),
        _tenant_fk("deliveries"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_provider_message", "deliveries", ["tenant_id", "provider_message_id"])
    op.create_table(
        "knowledge_chunks",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("chunk_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoder", sa.String(64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "chunk_id", name="pk_knowledge_chunks"),
        _tenant_fk("knowledge_chunks"),
    )
    op.create_index("ix_knowledge_chunks_source", "knowledge_chunks", ["tenant_id", "source"])


def downgrade() -> None:
    op.drop_index("ix_knowledge_chunks_source", table_name="knowledge_chunks")
    op.drop_table("knowledge_chunks")
    op.drop_index("ix_deliveries_provider_message", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("channel_credentials")
