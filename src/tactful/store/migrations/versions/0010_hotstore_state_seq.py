"""Issue 13 (hot store): a write counter on each feature state row.

``feature_state.seq`` goes up by one with every write of a row (decision, ingest, rebuild), under
the row's lock. The hot store keeps it with its copy: a copy is served only when its ``seq`` is the
row's (the decision's SQL read returns it), and a write to the hot store lands only when its
``seq`` is higher than the copy's — no clocks involved.

Revision ID: 0010_hotstore_state_seq
Revises: 0009_channels
Create Date: 2026-12-04

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_hotstore_state_seq"
down_revision: str | Sequence[str] | None = "0009_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feature_state") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("feature_state") as batch:
        batch.drop_column("seq")
