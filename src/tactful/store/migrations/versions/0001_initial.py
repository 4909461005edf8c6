"""Initial schema: tenants, keys, customers, policies, decisions, outcomes, audit chain, outbox.

Revision ID: 0001_initial
Revises:
Create Date: 2024-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import OutboxId, UtcDateTime

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _bool() -> sa.Boolean:
    return sa.Boolean(create_constraint=False)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenants"),
        sa.UniqueConstraint("name", name="uq_tenants_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("revoked", _bool(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key_id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name="fk_api_keys_tenant_id_tenants"),
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("preferences", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_customers"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name="fk_customers_tenant_id_tenants"),
    )
    op.create_table(
        "policies",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("active", _bool(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "version", name="pk_policies"),
        sa.UniqueConstraint("tenant_id", "content_hash", name="uq_policies_tenant_id_content_hash"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name="fk_policies_tenant_id_tenants"),
    )
    op.create_index(
        "uq_policies_active",
        "policies",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "decisions",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.Column("proactive", _bool(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "decision_id", name="pk_decisions"),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_decisions_tenant_id_event_id"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name="fk_decisions_tenant_id_tenants"),
    )
    op.create_index("ix_decisions_customer_time", "decisions", ["tenant_id", "customer_id", "decided_at"])
    op.create_index(
        "ix_decisions_proactive",
        "decisions",
        ["tenant_id", "customer_id", "decided_at"],
        sqlite_where=sa.text("proactive IS 1"),
        postgresql_where=sa.text("proactive IS true"),
    )
    op.create_table(
        "outcomes",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name="pk_outcomes"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "decision_id"],
            ["decisions.tenant_id", "decisions.decision_id"],
            name="fk_outcomes_tenant_id_decision_id_decisions",
        ),
    )
    op.create_index("ix_outcomes_decision", "outcomes", ["tenant_id", "decision_id"])
    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name="pk_audit_log"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name="fk_audit_log_tenant_id_tenants"),
    )
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_audit_heads"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name="fk_audit_heads_tenant_id_tenants"
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", OutboxId, nullable=False, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name="fk_outbox_tenant_id_tenants"),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    for index, table in (
        ("ix_outbox_pending", "outbox"),
        ("ix_outcomes_decision", "outcomes"),
        ("ix_decisions_customer_time", "decisions"),
        ("ix_decisions_proactive", "decisions"),
        ("uq_policies_active", "policies"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "outbox",
        "audit_heads",
        "audit_log",
        "outcomes",
        "decisions",
        "policies",
        "customers",
        "api_keys",
        "tenants",
    ):
        op.drop_table(table)
