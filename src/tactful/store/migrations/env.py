"""Alembic environment for the Tactful store.

At runtime ``tactful.store.migrate`` passes an open connection in ``config.attributes`` so migrations
run inside the store's own transaction. Developers can also run Alembic by hand with a Config whose
``sqlalchemy.url`` is a store URL (online) or, offline, to print the SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tactful.store.schema import metadata

VERSION_TABLE = "tactful_schema_version"

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    # Imported here: only the by-hand path needs to open its own database.
    from tactful.store.backends import open_database

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url to a store URL to run migrations by hand")
    database = open_database(url)
    try:
        with database.write() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        database.close()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
