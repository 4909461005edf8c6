"""Bring a store's database to the newest schema with Alembic, configured in code (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from tactful.store.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "tactful_schema_version"  # must match migrations/env.py

# Any fixed 64-bit number: the advisory lock that keeps two PostgreSQL processes from migrating at once.
_PG_MIGRATION_LOCK = 0x7461637466756C  # "tactful"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_to_head(database: Database) -> None:
    # One transaction for the whole upgrade: both backends have transactional DDL, so a failed
    # migration leaves the schema untouched. On SQLite the write transaction is BEGIN IMMEDIATE,
    # which already keeps concurrent openers out.
    with database.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        command.upgrade(alembic_config(conn), "head")
