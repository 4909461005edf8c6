"""SQLite engine creation: WAL, durable commits, foreign keys, and ``BEGIN IMMEDIATE`` for writes.

URL forms: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:``.
Extra query parameters are understood and removed before the driver sees them:
``timeout=SECONDS`` (default 5): how long a write waits for the write lock, held by this process's
other writers or by another process (``busy_timeout``), before it fails with ``StoreError`` (503);
``checkpoint=background|commit`` (default background: who copies the WAL back into the database
file, store/wal.py); ``synchronous=FULL|NORMAL`` (default FULL: every commit is fsynced, so an
acknowledged decision and its audit entry survive power loss). Measured for ``record_decision``
on ext4 (2 vCPU, WAL): FULL p50 0.9 ms / p99 2.1 ms; NORMAL p50 0.8 ms / p99 5.8 ms — NORMAL
defers the fsyncs to checkpoints, which then stall one commit for longer, so FULL is both safer
and has the better tail.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from tactful.errors import InputRejected
from tactful.store.database import SINGLE_READ_OPTION, WRITE_OPTION, Database, store_timeout
from tactful.store.wal import BACKSTOP_PAGES

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
SYNCHRONOUS_MODES = ("FULL", "NORMAL")
#: Connections kept open (as on PostgreSQL, store/postgres.py): a SQLite connection is a file
#: handle and its page cache, cheap to keep and costly to reopen.
POOL_SIZE = 20
#: Opened beyond ``POOL_SIZE`` at a burst, closed again when returned.
MAX_OVERFLOW = 20
#: ``background`` (the default): WAL checkpoints on a thread of their own (wal.py); ``commit``:
#: SQLite's own automatic checkpoint, in the commit that fills the log (docs/performance.md,
#: "SQLite write path and features (storecpu, 2026-12-04 night)").
CHECKPOINT_MODES = ("background", "commit")
DEFAULT_CHECKPOINT = "background"
DEFAULT_SYNCHRONOUS = "FULL"


def open_database(url: str) -> Database:
    parsed = make_url(url)
    synchronous = str(parsed.query.get("synchronous", DEFAULT_SYNCHRONOUS)).upper()
    if synchronous not in SYNCHRONOUS_MODES:
        raise InputRejected(
            f"sqlite synchronous={synchronous!r} is not supported; use one of {', '.join(SYNCHRONOUS_MODES)}",
            code="unsupported_store_url",
        )
    checkpoint = str(parsed.query.get("checkpoint", DEFAULT_CHECKPOINT)).lower()
    if checkpoint not in CHECKPOINT_MODES:
        raise InputRejected(
            f"sqlite checkpoint={checkpoint!r} is not supported; use one of {', '.join(CHECKPOINT_MODES)}",
            code="unsupported_store_url",
        )
    background = checkpoint == "background"
    timeout = store_timeout(parsed.query.get("timeout"), BUSY_TIMEOUT_MS / 1000)
    parsed = parsed.difference_update_query(["synchronous", "timeout", "checkpoint"])
    if parsed.database in (None, "", ":memory:"):
        return _open_memory()
    busy_ms = int(timeout * 1000)
    _create_private(Path(parsed.database))

    engine = sa_create_engine(
        parsed,
        poolclass=QueuePool,
        # Last in, first out: a lone caller keeps getting the connection it used last, whose page
        # cache is still valid when no other connection wrote since (SQLite drops a connection's
        # cache whenever another one committed). Measured: the decision's read 0.142 → 0.118 ms.
        pool_use_lifo=True,
        # An API process runs up to 40 requests at once in its thread pool, each holding a
        # connection for its reads, beside the group commit's writer, the relay and the
        # checkpointer: with SQLAlchemy's default 5 kept, eight concurrent POSTs opened and closed
        # overflow connections all the time (5 % of the server's samples under wrk were in
        # ``sqlite3.connect`` and the PRAGMAs, and each new connection starts with a cold page cache).
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        connect_args={"check_same_thread": False, "timeout": timeout},
    )
    # secure_delete: deleted rows are overwritten with zeros, so an erased customer's key and
    # ciphertexts do not linger in free space of the file (Database.scrub empties the WAL after).
    _install_hooks(
        engine,
        # checkpoint=background: the log is checkpointed by a thread of its own (wal.py); a commit
        # does it itself only past the backstop.
        pragmas=(
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "secure_delete=ON",
            *((f"wal_autocheckpoint={BACKSTOP_PAGES}",) if background else ()),
        ),
        busy_ms=busy_ms,
    )
    return Database(
        engine,
        backend="sqlite",
        sqlite_synchronous=synchronous,
        write_lock_timeout=timeout,
        wal_path=str(parsed.database) if background else None,
    )


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (0600). SQLite creates the ``-wal``
    and ``-shm`` files with the database file's mode, so they follow. An existing file keeps its
    mode, with a warning when others can read it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("database file %s is readable by others (mode %o); chmod 600 it", path, mode)
    except FileNotFoundError:
        pass  # no such folder: let SQLite report it as it always has


def _open_memory() -> Database:
    """A private in-memory database, shared by the pool's single connection and a keep-alive.

    A plain ``:memory:`` database belongs to one connection; a named shared-cache one lives as
    long as any connection to it, so the anchor keeps it alive even if the pool replaces its
    connection. One pooled connection serialises all use, which is what a memory DB can offer.
    """
    uri = f"file:tactful-{uuid.uuid4().hex}?mode=memory&cache=shared"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)

    anchor = connect()
    engine = sa_create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=1, max_overflow=0)
    _install_hooks(engine, pragmas=(), busy_ms=BUSY_TIMEOUT_MS)
    return Database(engine, backend="sqlite", keepalive=anchor)


def _install_hooks(engine: Engine, *, pragmas: tuple[str, ...], busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it would skip it for SELECTs and DDL) and let
        # the "begin" hook below issue it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in (*pragmas, "foreign_keys=ON", f"busy_timeout={busy_ms}"):
                cursor.execute(f"PRAGMA {pragma}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on busy_timeout
        # instead of failing with SQLITE_BUSY when they upgrade a read lock mid-transaction.
        options = conn.get_execution_options()
        if options.get(SINGLE_READ_OPTION, False):
            return  # the sqlite3 module is in autocommit mode: the lone SELECT is its own transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION, False) else "BEGIN")
