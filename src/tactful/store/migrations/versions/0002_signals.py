"""Schema for issue 3 (signals): tenant intent models.

Revision ID: 0002_signals
Revises: 0001_initial
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0002_signals"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by issue 3 (signals): tenant intent models


def downgrade() -> None:
    pass
