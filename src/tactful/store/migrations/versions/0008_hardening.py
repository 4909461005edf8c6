"""Issue 11 (hardening): sharded, signed audit chains made append-only in the database; consent changes.

Revision ID: 0008_hardening
Revises: 0007_console
Create Date: 2026-12-04

Existing entries and heads become chain (shard) 0, whose entry hashes are unchanged; their heads
stay unsigned (``signature`` NULL) until the next append signs them.

Append-only enforcement: on SQLite, triggers abort any UPDATE or DELETE of ``audit_log`` and any
UPDATE of ``decisions`` (retention still deletes old decisions; their entries stay). On PostgreSQL,
the same triggers (plus one refusing TRUNCATE), and UPDATE, DELETE and TRUNCATE on ``audit_log``
revoked from PUBLIC and from the migrating role. Someone who owns the database can undo all of
this, which is why the chain heads are signed and can be anchored outside (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tactful.store.schema import UtcDateTime

revision: str = "0008_hardening"
down_revision: str | Sequence[str] | None = "0007_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
       BEGIN SELECT RAISE(ABORT, 'decisions are immutable'); END""",
)
_PG_STATEMENTS = (
    """CREATE FUNCTION tactful_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END
       $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION tactful_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION tactful_append_only()""",
    """CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
       FOR EACH ROW EXECUTE FUNCTION tactful_append_only()""",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER",
    "REVOKE UPDATE ON decisions FROM PUBLIC",
    "REVOKE UPDATE ON decisions FROM CURRENT_USER",
)


def upgrade() -> None:
    def shard() -> sa.Column[int]:
        return sa.Column("shard", sa.Integer(), nullable=False, server_default=sa.text("0"))

    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.add_column(shard())
        batch.drop_constraint("pk_audit_log", type_="primary")
        batch.create_primary_key("pk_audit_log", ["tenant_id", "shard", "seq"])
    with op.batch_alter_table("audit_heads", recreate="always") as batch:
        batch.add_column(shard())
        batch.add_column(sa.Column("signature", sa.String(64), nullable=True))
        batch.drop_constraint("pk_audit_heads", type_="primary")
        batch.create_primary_key("pk_audit_heads", ["tenant_id", "shard"])
    # The default only served the rows already there; every insert names its shard.
    for table in ("audit_log", "audit_heads"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("shard", server_default=None)

    op.create_table(
        "consent_changes",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("change_id", sa.String(160), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "change_id", name="pk_consent_changes"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.tenant_id"], name="fk_consent_changes_tenant_id_tenants"
        ),
    )
    op.create_index("ix_consent_changes_time", "consent_changes", ["tenant_id", "changed_at"])

    statements = _PG_STATEMENTS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER decisions_no_update ON decisions")
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION tactful_append_only()")
        op.execute("GRANT UPDATE ON decisions TO CURRENT_USER")
        op.execute("GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO CURRENT_USER")
    else:
        for name in ("decisions_no_update", "audit_log_no_delete", "audit_log_no_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_consent_changes_time", "consent_changes")
    op.drop_table("consent_changes")
    # Chains other than 0 cannot be folded back into one chain without re-hashing: refuse.
    for table in ("audit_log", "audit_heads"):
        if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {table} WHERE shard <> 0")).scalar():
            raise RuntimeError(f"{table} has entries in chains other than 0; cannot downgrade")
    with op.batch_alter_table("audit_heads", recreate="always") as batch:
        batch.drop_constraint("pk_audit_heads", type_="primary")
        batch.drop_column("signature")
        batch.drop_column("shard")
        batch.create_primary_key("pk_audit_heads", ["tenant_id"])
    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.drop_constraint("pk_audit_log", type_="primary")
        batch.drop_column("shard")
        batch.create_primary_key("pk_audit_log", ["tenant_id", "seq"])
