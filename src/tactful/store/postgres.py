"""PostgreSQL engine creation (psycopg 3).

``postgresql://user@host/db`` is rewritten to ``postgresql+psycopg://`` for SQLAlchemy. Extra libpq
parameters pass through the query string, e.g. ``?options=-csearch_path%3Dtenant_a`` to use a schema.
A tenant's audit appends are serialised by ``SELECT … FOR UPDATE`` on its ``audit_heads`` row
(see ``sql_audit.py``); psycopg prepares repeated statements server-side on its own.
"""

from __future__ import annotations

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url

from tactful.errors import StoreError
from tactful.store.database import Database

DRIVER = "postgresql+psycopg"


def open_database(url: str) -> Database:
    parsed = make_url(url)
    parsed = parsed.set(drivername=DRIVER)
    try:
        engine = sa_create_engine(
            parsed,
            pool_size=10,
            max_overflow=10,
            # No pre-ping: it costs a round trip on the hot path. A dropped connection fails one
            # call with StoreError (503, retryable) and SQLAlchemy then discards the stale pool.
            pool_pre_ping=False,
            pool_recycle=1800,
        )
    except ImportError as exc:
        raise StoreError(
            "the PostgreSQL driver is not installed: pip install 'tactful[postgres]'",
            code="store_driver_missing",
        ) from exc
    return Database(engine, backend="postgresql")
