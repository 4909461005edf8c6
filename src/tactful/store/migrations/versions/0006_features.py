"""Schema for issue 6 (context): events and feature store.

Revision ID: 0006_features
Revises: 0005_governance
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_features"
down_revision: str | Sequence[str] | None = "0005_governance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by issue 6 (context): events and feature store


def downgrade() -> None:
    pass
