"""An engine plus the two kinds of transaction the store uses.

``write()`` marks its connection so the SQLite backend opens it with ``BEGIN IMMEDIATE`` (taking the
write lock up front, so two writers never both read the audit head and then collide); PostgreSQL
ignores the mark and relies on row locks instead. ``read()`` is a plain transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from sqlite3 import Connection as SqliteConnection

from sqlalchemy import Connection, Engine

#: Connection execution option read by the SQLite ``begin`` hook.
WRITE_OPTION = "tactful_write"


class Database:
    def __init__(self, engine: Engine, *, backend: str, keepalive: SqliteConnection | None = None) -> None:
        self.engine = engine
        self.backend = backend  # "sqlite" | "postgresql"
        self._keepalive = keepalive  # holds an in-memory SQLite database open; closed last

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """For single-statement reads (every statement sees committed data on its own)."""
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                # Autocommit spares the BEGIN and COMMIT round trips around a lone SELECT; a single
                # statement is atomic and consistent by itself.
                conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():
                yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction that sees one consistent state across many statements.

        SQLite's transactions are snapshots already; PostgreSQL's default READ COMMITTED is not, so
        a long walk (audit verification) would otherwise see appends that landed mid-walk.
        """
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None
