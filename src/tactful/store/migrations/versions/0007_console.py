"""Schema for issue 15 (console, experiments): decision facts, experiments, console sessions.

Revision ID: 0007_console
Revises: 0006_features
Create Date: 2026-12-10

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0007_console"
down_revision: str | Sequence[str] | None = "0006_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _flag(name: str, nullable: bool = False) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(create_constraint=False), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "decision_facts",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("inbound_channel", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("style", sa.String(32), nullable=False),
        _flag("degraded"),
        sa.Column("degradations", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("experiment_id", sa.String(64), nullable=True),
        sa.Column("arm", sa.String(16), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("learner_mode", sa.String(16), nullable=True),
        _flag("learner_agrees", nullable=True),
        sa.Column("csat", sa.Float(), nullable=True),
        _flag("replied"),
        _flag("resolved"),
        _flag("recontact"),
        _flag("complaint"),
        _flag("opted_out"),
        _flag("escalated"),
        sa.Column("last_outcome_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "decision_id", name="pk_decision_facts"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name="fk_decision_facts_tenant_id_tenants"
        ),
    )
    op.create_index("ix_decision_facts_time", "decision_facts", ["tenant_id", "decided_at"])
    op.create_index("ix_decision_facts_experiment", "decision_facts", ["tenant_id", "experiment_id", "arm"])
    op.create_table(
        "experiments",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("experiment_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("candidate_version", sa.Integer(), nullable=True),
        sa.Column("candidate_mode", sa.String(16), nullable=True),
        sa.Column("control_version", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("step_started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(200), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "experiment_id", name="pk_experiments"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name="fk_experiments_tenant_id_tenants"
        ),
    )
    op.create_index(
        "uq_experiments_running",
        "experiments",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_console_sessions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name="fk_console_sessions_tenant_id_tenants"
        ),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_index("uq_experiments_running", table_name="experiments")
    op.drop_table("experiments")
    op.drop_index("ix_decision_facts_experiment", table_name="decision_facts")
    op.drop_index("ix_decision_facts_time", table_name="decision_facts")
    op.drop_table("decision_facts")
