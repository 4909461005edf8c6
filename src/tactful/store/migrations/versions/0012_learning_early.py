"""Issue 16: the learner's early estimate (``learning.reward.early``).

``learning_events.early_due_at``: when a decision's partial reward (the outcomes in by the early
horizon) is due; ``partial_reward``: that reward once learned. A partial index holds the rows still
waiting for it. Rows written before this revision have neither and are learned as before, whole,
when their window closes.

Revision ID: 0012_learning_early
Revises: 0011_outbox_decision_ref
Create Date: 2026-12-05

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0012_learning_early"
down_revision: str | Sequence[str] | None = "0011_outbox_decision_ref"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WAITING = "early_due_at IS NOT NULL AND partial_reward IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("learning_events") as batch:
        batch.add_column(sa.Column("early_due_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("partial_reward", sa.Float(), nullable=True))
    op.create_index(
        "ix_learning_events_early_due",
        "learning_events",
        ["early_due_at"],
        sqlite_where=sa.text(_WAITING),
        postgresql_where=sa.text(_WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_learning_events_early_due", table_name="learning_events")
    with op.batch_alter_table("learning_events") as batch:
        batch.drop_column("partial_reward")
        batch.drop_column("early_due_at")
