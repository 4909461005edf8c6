"""Schema for issue 5 (governance): PII vault, customer data keys, erasure.

Revision ID: 0004_vault
Revises: 0003_learning
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004_vault"
down_revision: str | Sequence[str] | None = "0003_learning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by issue 5 (governance): PII vault, customer data keys, erasure


def downgrade() -> None:
    pass
