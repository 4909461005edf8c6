"""PostgreSQL engine creation (psycopg 3), with every wait bounded.

``postgresql://user@host/db`` is rewritten to ``postgresql+psycopg://`` for SQLAlchemy. Extra libpq
parameters pass through the query string, e.g. ``?options=-csearch_path%3Dtenant_a`` to use a schema.
A chain's audit appends are serialised by ``SELECT … FOR UPDATE`` on its ``audit_heads`` row; a
batch of decisions takes a chain no other transaction holds (``SKIP LOCKED``, see ``sql_audit.py``);
psycopg prepares repeated statements server-side on its own.

One extra query parameter is understood and removed before libpq sees it: ``timeout=SECONDS``
(default ``DEFAULT_TIMEOUT``). It bounds every wait on the database, so a stopped, restarting or
frozen (SIGSTOPped) server costs a caller a ``StoreError`` (503 ``store_unavailable``) in bounded
time instead of a hang:

- connecting: libpq's ``connect_timeout`` (at least 2 s, libpq's floor);
- each statement, commit or rollback: the server's ``statement_timeout``, and on the client a
  deadline on psycopg's wait for the answer, since a frozen server enforces nothing; a connection
  that misses its deadline is closed and dropped from the pool;
- a free pooled connection: the pool's ``pool_timeout``.

A server restart leaves the pool full of connections the server has closed. Each is checked at
checkout without a round trip: an idle connection whose socket is readable has been closed by the
server (or has something unsolicited to say), so it is replaced before use and the first requests
after a restart succeed. (``pool_pre_ping`` would do the same for a round trip per checkout.)
"""

from __future__ import annotations

import math
import select
from typing import Any

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from tactful.errors import StoreError
from tactful.store.database import Database, store_timeout

DRIVER = "postgresql+psycopg"
#: Seconds any one wait on the database may take (see the module docstring).
DEFAULT_TIMEOUT = 10.0
#: Connections kept open. An API process runs up to 40 requests at once in its thread pool (AnyIO's
#: default), each holding a connection for its reads while the group commit's leader holds one
#: for the batch; with 10 kept, one process under 16 concurrent requests opened and closed
#: overflow connections all the time — each a new PostgreSQL backend, forked and authenticated
#: (issue 12: 31 backends seen in 8 s for a pool of 10 + 10).
POOL_SIZE = 20
#: Opened beyond ``POOL_SIZE`` at a burst, closed again when returned.
MAX_OVERFLOW = 20


def open_database(url: str) -> Database:
    parsed = make_url(url)
    timeout = store_timeout(parsed.query.get("timeout"), DEFAULT_TIMEOUT)
    parsed = parsed.difference_update_query(["timeout"]).set(drivername=DRIVER)
    try:
        from tactful.store.pg_timed import timed_connection_class
    except ImportError as exc:
        raise StoreError(
            "the PostgreSQL driver is not installed: pip install 'tactful[postgres]'",
            code="store_driver_missing",
        ) from exc
    connection_class = timed_connection_class(timeout)
    engine = sa_create_engine(
        parsed,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=timeout,
        pool_pre_ping=False,  # replaced by the free check at checkout below
        pool_recycle=1800,
    )

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        cparams.setdefault("connect_timeout", max(2, math.ceil(timeout)))
        statement_timeout = f"-c statement_timeout={int(timeout * 1000)}"
        cparams["options"] = f"{cparams.get('options', '')} {statement_timeout}".strip()
        return connection_class.connect(*cargs, **cparams)

    @event.listens_for(engine, "checkout")
    def _still_open(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("pooled connection is closed")
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        if readable:  # an idle connection has nothing to read unless the server hung up
            raise DisconnectionError("the server closed this pooled connection")

    return Database(engine, backend="postgresql")
