"""Schema for issue 5 (governance): key roles, rate limits, retention.

Revision ID: 0005_governance
Revises: 0004_vault
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0005_governance"
down_revision: str | Sequence[str] | None = "0004_vault"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Keys are now looked up by the id they carry (``tk_<key_id>_<secret>``), before the tenant is
    # known, so the id must be unique on its own.
    op.create_index("uq_api_keys_key_id", "api_keys", ["key_id"], unique=True)
    op.create_table(
        "retention_policies",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name="pk_retention_policies"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name="fk_retention_policies_tenant_id_tenants"
        ),
    )


def downgrade() -> None:
    op.drop_table("retention_policies")
    op.drop_index("uq_api_keys_key_id", table_name="api_keys")
