"""Schema for issue 4 (learning loop): arms, propensities, rewards, learner snapshots.

Revision ID: 0003_learning
Revises: 0002_signals
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0003_learning"
down_revision: str | Sequence[str] | None = "0002_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=f"fk_{table}_tenant_id_tenants")


def upgrade() -> None:
    op.create_table(
        "learning_events",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("arms", sa.Text(), nullable=False),
        sa.Column("chosen", sa.String(64), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("rules_arm", sa.String(64), nullable=False),
        sa.Column("greedy_arm", sa.String(64), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("closed", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "decision_id", name="pk_learning_events"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "decision_id"],
            ["decisions.tenant_id", "decisions.decision_id"],
            name="fk_learning_events_tenant_id_decision_id_decisions",
        ),
    )
    op.create_index("ix_learning_events_closed_due_at", "learning_events", ["closed", "due_at"])
    op.create_table(
        "learning_snapshots",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("args", sa.String(200), nullable=False),
        sa.Column("learned", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "version", name="pk_learning_snapshots"),
        _tenant_fk("learning_snapshots"),
    )
    op.create_table(
        "learning_settings",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_learning_settings"),
        _tenant_fk("learning_settings"),
    )


def downgrade() -> None:
    op.drop_table("learning_settings")
    op.drop_table("learning_snapshots")
    op.drop_index("ix_learning_events_closed_due_at", table_name="learning_events")
    op.drop_table("learning_events")
