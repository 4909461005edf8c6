"""Issue 12: a decision's outbox event refers to the decision's stored document.

``outbox.decision_id``: the event is stored with ``"payload":null`` and the relay's claim reads
the payload from ``decisions.document`` (one statement: ``UPDATE … RETURNING`` with a scalar
subquery). The decision's commit no longer writes its ~3 KB document a second time, and a relay's
mark rewrites small rows. Rows written before this revision carry their payload and keep it.

A relay of an older version that claims such a row fails to parse its null payload and leaves it
queued (it never publishes an event without its payload); a relay of this version publishes it.

Revision ID: 0011_outbox_decision_ref
Revises: 0010_hotstore_state_seq
Create Date: 2026-12-05

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_outbox_decision_ref"
down_revision: str | Sequence[str] | None = "0010_hotstore_state_seq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("decision_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # An event stored by reference gets its payload back before the column goes.
    op.execute(
        # ('":' || 'null': a colon before a word would read as a bound parameter)
        "UPDATE outbox SET event = replace(event, '\"payload\":' || 'null', '\"payload\":' || "
        "(SELECT d.document FROM decisions d WHERE d.tenant_id = outbox.tenant_id "
        "AND d.decision_id = outbox.decision_id)) "
        "WHERE decision_id IS NOT NULL AND EXISTS (SELECT 1 FROM decisions d "
        "WHERE d.tenant_id = outbox.tenant_id AND d.decision_id = outbox.decision_id)"
    )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("decision_id")
