"""Schema for issue 5 (governance): key roles, rate limits, retention.

Revision ID: 0005_governance
Revises: 0004_vault
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005_governance"
down_revision: str | Sequence[str] | None = "0004_vault"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by issue 5 (governance): key roles, rate limits, retention


def downgrade() -> None:
    pass
