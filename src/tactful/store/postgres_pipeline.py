"""The decision's write transaction on PostgreSQL in pipeline mode (``Database.raw_write(pipeline=True)``).

BEGIN and COMMIT go out as plain statements of the pipeline, the driver in autocommit mode:
psycopg's own transaction syncs the pipeline after the BEGIN it issues and again after its COMMIT,
two round trips of their own on top of the pipeline's exit Sync (issue 12: five round trips per
decision where three do — the combined read, the chain-head read, the COMMIT). Any error, the
statements' or the caller's, ends in an explicit ROLLBACK once the pipeline is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from tactful.store.database import RawTransaction

#: READ COMMITTED is PostgreSQL's default; stated, so a server configured otherwise changes nothing.
_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"


@contextmanager
def pipelined_transaction(engine: Engine, *, durable: bool = True) -> Iterator[RawTransaction]:
    """A write transaction on a pooled connection, its statements pipelined up to the COMMIT.
    ``durable=False`` as for ``Database.write``.

    Driver errors come out as SQLAlchemy's, as from ``Database.raw_write``."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    raw = engine.raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    try:
        driver.autocommit = True  # psycopg's Connection
        cursor = raw.cursor()
        try:
            with driver.pipeline():
                cursor.execute(_BEGIN)
                if not durable:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")  # pipelined: no wait
                tx = RawTransaction(cursor, dbapi_error, engine=engine)
                tx.pipelined = True
                yield tx
                cursor.execute("COMMIT")
            tx.settle()  # reads left unread come back with the COMMIT (RawTransaction.settle)
        except BaseException:
            if not driver.closed and driver.info.transaction_status != TransactionStatus.IDLE:
                driver.execute("ROLLBACK")  # the statements failed, or the caller raised
            raise
        finally:
            cursor.close()
            if not driver.closed:
                driver.autocommit = False
    except dbapi_error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi_error) from exc
    finally:
        raw.close()  # back to the pool
