"""An engine plus the two kinds of transaction the store uses.

``write()`` marks its connection so the SQLite backend opens it with ``BEGIN IMMEDIATE`` (taking the
write lock up front, so two writers never both read the audit head and then collide); PostgreSQL
ignores the mark and relies on row locks instead. ``read()`` is a plain transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from sqlite3 import Connection as SqliteConnection
from typing import Any, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from tactful.errors import InputRejected, StoreError
from tactful.store.signing import ChainConfig

log = logging.getLogger(__name__)

#: Connection execution options read by the SQLite ``begin`` hook.
WRITE_OPTION = "tactful_write"
SINGLE_READ_OPTION = "tactful_single_read"


#: Marks a parameter the statement carries no value of its own for (see ``PreparedQuery``).
_OWN: Any = object()


class PreparedQuery:
    """A statement compiled once for the engine's dialect and run straight on a DBAPI cursor.

    The few reads on every decision cost ~20 µs this way against ~120 µs through
    ``Connection.execute`` (measured on SQLite here); bind values still go through the column types'
    bind processors, so e.g. timestamps are stored and compared exactly as SQLAlchemy would.
    """

    def __init__(self, statement: ClauseElement, engine: Engine) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=engine.dialect))
        self.sql = str(compiled)
        processors = {name: bind.type.bind_processor(engine.dialect) for name, bind in compiled.binds.items()}
        # Values the statement carries itself (e.g. a LIMIT/OFFSET the dialect renders as a bind).
        fixed = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not name.startswith("b_") and bind.value is not None
        }
        # (name, processor, own value) per parameter, in the order the driver takes them, worked
        # out once: a decision binds ~14 statements, and a dict merge and lookups per call cost
        # more than some of the statements themselves (issue 12).
        names = compiled.positiontup if compiled.positiontup is not None else list(compiled.binds)
        self._plan = tuple((name, processors[name], fixed.get(name, _OWN)) for name in names)
        self._positional = compiled.positiontup is not None

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        processed = []
        for name, process, own in self._plan:
            value = values[name] if own is _OWN else values.get(name, own)
            processed.append(value if process is None else process(value))
        if self._positional:
            return tuple(processed)
        return {name: value for (name, _, _), value in zip(self._plan, processed, strict=True)}


class RawTransaction:
    """Prepared statements on the DBAPI cursor of an open transaction (see ``Database.raw_write``).

    ``of(conn)`` wraps an SQLAlchemy connection's transaction, so code written against this class
    (the audit append) runs the same inside either kind of transaction.
    """

    def __init__(self, cursor: Any, dbapi_error: type[Exception] | None = None, *, engine: Engine) -> None:
        self._cursor = cursor
        # Driver errors are raised as SQLAlchemy's (``IntegrityError`` ...), as on every other
        # store path. In PostgreSQL's pipeline mode a statement's error surfaces at the next read
        # of any result, so reads are translated as well as executes. (A plain ``try`` at each
        # call, not a context manager: one per statement cost more than some of the statements.)
        self._dbapi_error = dbapi_error
        self._driver_errors: type[Exception] | tuple[()] = () if dbapi_error is None else dbapi_error
        #: The engine whose connection this is: a write kept in another database cannot join it.
        self.engine = engine
        #: Reads made with ``send``, and (on those) their rows once fetched by ``settle``.
        self._sent: list[RawTransaction] = []
        self._settled: list[tuple[Any, ...]] | None = None
        #: What the writes of one transaction share (the audit chain a batch appends to: sql_audit.py).
        self.shared: dict[object, Any] = {}
        #: Statements sent ahead of their answers (PostgreSQL's pipeline: postgres_pipeline.py).
        self.pipelined = False

    @classmethod
    def of(cls, conn: Connection | RawTransaction) -> RawTransaction:
        if isinstance(conn, RawTransaction):
            return conn
        return cls(conn.connection.cursor(), conn.dialect.loaded_dbapi.Error, engine=conn.engine)

    def _translated(self, exc: Exception) -> Exception:
        return DBAPIError.instance(None, None, exc, cast(type[Exception], self._dbapi_error))

    def _run(self, sql: str, parameters: Any, many: bool = False) -> None:
        try:
            if many:
                self._cursor.executemany(sql, parameters)
            else:
                self._cursor.execute(sql, parameters)
        except self._driver_errors as exc:
            raise self._translated(exc) from exc

    def execute(self, query: PreparedQuery, values: dict[str, Any]) -> None:
        self._run(query.sql, query.parameters(values))

    def fetch_one(self, query: PreparedQuery, values: dict[str, Any]) -> tuple[Any, ...] | None:
        self._run(query.sql, query.parameters(values))
        try:
            row = self._cursor.fetchone()
        except self._driver_errors as exc:
            raise self._translated(exc) from exc
        return None if row is None else tuple(row)

    def fetch_all(self, query: PreparedQuery, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        self._run(query.sql, query.parameters(values))
        return self.rows(close=False)

    def execute_many(self, query: PreparedQuery, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._run(query.sql, [query.parameters(values) for values in rows], many=True)

    def send(self, query: PreparedQuery, values: dict[str, Any]) -> RawTransaction:
        """Run a read on a cursor of its own and return it unread: in PostgreSQL's pipeline mode
        (``Database.raw_write(pipeline=True)``) reads sent this way before the first ``fetch_*`` are
        answered in the same round trip. Read the rows with the returned object's ``rows()``."""
        sent = RawTransaction(self._cursor.connection.cursor(), self._dbapi_error, engine=self.engine)
        sent._run(query.sql, query.parameters(values))
        self._sent.append(sent)
        return sent

    def settle(self) -> None:
        """Fetch the rows of reads sent and not read yet, before the connection goes back to the
        pool: a pipelined transaction (postgres_pipeline.py) whose only read is its last statement
        reads it after the COMMIT left with it, in the transaction's one round trip."""
        for sent in self._sent:
            if not sent._cursor.closed:
                sent._settled = sent.rows()

    def rows(self, *, close: bool = True) -> list[tuple[Any, ...]]:
        """The rows of a read made with ``send`` (whose cursor is then closed)."""
        if self._settled is not None:
            return self._settled
        try:
            return [tuple(row) for row in self._cursor.fetchall()]
        except self._driver_errors as exc:
            raise self._translated(exc) from exc
        finally:
            if close:
                self._cursor.close()


#: A write another module adds to the decision's own transaction (``SqlStore.record_decision``):
#: called with the open transaction after the decision, audit and outbox rows; raising rolls the
#: whole decision back. Each module keeps its own SQL and only hands over such a callable.
SideWrite = Callable[[RawTransaction], object]


class _TimedLock:
    """The in-process writer lock with a bound: past it the caller gets ``StoreError`` (503), the
    same answer and the same wait as SQLite's own ``busy_timeout`` gives another process."""

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout

    def __enter__(self) -> None:
        if not self._lock.acquire(timeout=self._timeout):
            raise StoreError(f"the database is busy: no write slot within {self._timeout:g} s")

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def store_timeout(raw: object, default: float) -> float:
    """The ``timeout=SECONDS`` query parameter of a store URL (both backends understand it)."""
    if raw is None:
        return default
    try:
        value = float(str(raw))
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise InputRejected(
            f"store URL timeout={raw!r} must be seconds in (0, 3600]", code="unsupported_store_url"
        )
    return value


class Database:
    def __init__(
        self,
        engine: Engine,
        *,
        backend: str,
        keepalive: SqliteConnection | None = None,
        sqlite_synchronous: str = "FULL",
        write_lock_timeout: float = 5.0,
    ) -> None:
        self.engine = engine
        self.sqlite_synchronous = sqlite_synchronous
        self._write_lock: AbstractContextManager[object] = (
            _TimedLock(write_lock_timeout) if backend == "sqlite" else nullcontext()
        )
        self.backend = backend  # "sqlite" | "postgresql"
        #: How the audit log is sharded and its heads signed; set by ``open_store``.
        self.chain: ChainConfig | None = None
        #: Where generated keys live (``Settings.key_dir``); set by ``open_store``.
        self.key_dir: Path | None = None
        self._keepalive = keepalive  # holds an in-memory SQLite database open; closed last

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction. ``durable=False`` is for bookkeeping whose loss on a power cut is
        harmless (the outbox's claimed/published marks: losing one only re-publishes an event,
        which at-least-once delivery allows); it skips the commit's fsync."""
        # SQLite has one writer at a time. Threads of this process queue on a lock here rather than
        # on SQLite's busy handler, which sleeps in growing steps and turned a 1 ms write into a
        # 100 ms tail under concurrent HTTP requests. Other processes still meet busy_timeout.
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            relaxed_sqlite = not durable and self.backend == "sqlite"
            if relaxed_sqlite:
                # Per connection; in WAL mode NORMAL commits without syncing the log. Set on the
                # driver connection: through SQLAlchemy the statement would open a transaction,
                # and SQLite refuses to change this setting inside one.
                self._sqlite_pragma(conn, "synchronous=NORMAL")
            try:
                with conn.begin():
                    if not durable and self.backend == "postgresql":
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield conn
            finally:
                if relaxed_sqlite:
                    self._sqlite_pragma(conn, f"synchronous={self.sqlite_synchronous}")

    @staticmethod
    def _sqlite_pragma(conn: Connection, pragma: str) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA {pragma}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """For single-statement reads (every statement sees committed data on its own)."""
        with self.engine.connect() as conn:
            # Autocommit spares the BEGIN and COMMIT around a lone SELECT (round trips on PostgreSQL,
            # a lock dance on SQLite); a single statement is atomic and consistent by itself.
            if self.backend == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                conn.execution_options(**{SINGLE_READ_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def raw_write(self, *, durable: bool = True, pipeline: bool = False) -> Iterator[RawTransaction]:
        """A write transaction of prepared statements on a pooled DBAPI connection: the decision's
        hot write (group_commit.py) without SQLAlchemy's per-transaction overhead. ``durable`` as
        for :meth:`write`.

        ``pipeline=True`` (PostgreSQL; ignored on SQLite) sends the statements in psycopg's
        pipeline mode: they go out without waiting for each other's answers, and the connection
        waits only where a result is read (the audit head) and at the commit — a decision's
        transaction costs two round trips instead of one per statement.

        Driver errors come out as SQLAlchemy's (``IntegrityError`` for a unique violation), like
        every other store path, so the store's error translation applies unchanged.
        """
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        if pipeline and self.backend == "postgresql":
            from tactful.store.postgres_pipeline import pipelined_transaction

            with pipelined_transaction(self.engine, durable=durable) as tx:
                yield tx
            return
        with self._write_lock:
            raw = self.engine.raw_connection()
            try:
                with self._pipeline(raw, pipeline):
                    cursor = raw.cursor()
                    relaxed_sqlite = not durable and self.backend == "sqlite"
                    try:
                        if relaxed_sqlite:
                            cursor.execute("PRAGMA synchronous=NORMAL")
                        if self.backend == "sqlite":
                            cursor.execute("BEGIN IMMEDIATE")  # the sqlite3 module is in autocommit mode
                        elif not durable:
                            cursor.execute("SET LOCAL synchronous_commit TO OFF")
                        yield RawTransaction(cursor, dbapi_error, engine=self.engine)
                        raw.commit()
                    except BaseException:
                        raw.rollback()
                        raise
                    finally:
                        if relaxed_sqlite:
                            cursor.execute(f"PRAGMA synchronous={self.sqlite_synchronous}")
                        cursor.close()
            except dbapi_error as exc:
                raise DBAPIError.instance(None, None, exc, dbapi_error) from exc
            finally:
                raw.close()  # back to the pool

    def _pipeline(self, raw: Any, pipeline: bool) -> AbstractContextManager[object]:
        """psycopg's pipeline mode on ``raw`` when asked for on PostgreSQL (see :meth:`write`)."""
        if not pipeline or self.backend != "postgresql":
            return nullcontext()
        driver = raw.driver_connection
        assert driver is not None
        return cast(AbstractContextManager[object], driver.pipeline())

    def fetch_one(self, query: PreparedQuery, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run a prepared single-statement read; the first row as a plain tuple, or None.

        Driver errors (connecting included) come out as SQLAlchemy's, as from ``raw_write``."""
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            return self._fetch_one(query, values)
        except dbapi_error as exc:
            raise DBAPIError.instance(None, None, exc, dbapi_error) from exc

    def _fetch_one(self, query: PreparedQuery, values: dict[str, Any]) -> tuple[Any, ...] | None:
        raw = self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            if self.backend == "postgresql":
                driver.autocommit = True  # type: ignore[union-attr]  # no BEGIN/ROLLBACK round trips
            cursor = raw.cursor()
            try:
                cursor.execute(query.sql, query.parameters(values))
                row = cursor.fetchone()
            finally:
                cursor.close()
                if self.backend == "postgresql":
                    driver.autocommit = False  # type: ignore[union-attr]
        finally:
            raw.close()  # back to the pool
        return None if row is None else tuple(row)

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

    def scrub(self, tables: tuple[str, ...]) -> bool:
        """After deleting what must not be recoverable (an erasure): make the deleted rows leave
        the files. True when done; False (logged) when it had to be left for later.

        SQLite zeroes deleted content as it deletes (``secure_delete``, set on every connection),
        but earlier versions of the pages stay in the ``-wal`` file until a checkpoint copies the
        newest ones back; ``wal_checkpoint(TRUNCATE)`` does that and empties the file, waiting (up
        to the busy timeout) for readers of older snapshots. PostgreSQL keeps deleted tuples in
        the table files until VACUUM removes them (docs/security.md, "Erasure")."""
        if self.backend == "sqlite":
            with self._write_lock:
                raw = self.engine.raw_connection()
                try:
                    driver = raw.driver_connection
                    assert driver is not None
                    row = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    raw.close()
            busy = row is not None and int(row[0]) != 0
            if busy:
                log.warning("erasure: the WAL could not be checkpointed now (readers busy); it will be later")
            return not busy
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM " + ", ".join(tables))
        return True

    def close(self) -> None:
        self.engine.dispose()
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None
