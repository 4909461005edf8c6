"""Schema for issue 5 (governance): PII vault, customer data keys, erasure.

Revision ID: 0004_vault
Revises: 0003_learning
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0004_vault"
down_revision: str | Sequence[str] | None = "0003_learning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=f"fk_{table}_tenant_id_tenants")


def upgrade() -> None:
    op.create_table(
        "vault_tenant_keys",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_vault_tenant_keys"),
        _tenant_fk("vault_tenant_keys"),
    )
    op.create_table(
        "vault_customer_keys",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_vault_customer_keys"),
        _tenant_fk("vault_customer_keys"),
    )
    op.create_table(
        "vault_values",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "token", name="pk_vault_values"),
        _tenant_fk("vault_values"),
    )
    op.create_table(
        "vault_erasures",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("subject_ref", sa.String(64), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "subject_ref", name="pk_vault_erasures"),
        _tenant_fk("vault_erasures"),
    )


def downgrade() -> None:
    for table in ("vault_erasures", "vault_values", "vault_customer_keys", "vault_tenant_keys"):
        op.drop_table(table)
