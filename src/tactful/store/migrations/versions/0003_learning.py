"""Schema for issue 4 (learning loop): arms, propensities, rewards, learner snapshots.

Revision ID: 0003_learning
Revises: 0002_signals
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003_learning"
down_revision: str | Sequence[str] | None = "0002_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by issue 4 (learning loop): arms, propensities, rewards, learner snapshots


def downgrade() -> None:
    pass
