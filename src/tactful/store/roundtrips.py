"""Counting PostgreSQL round trips, for the test and the benchmark that hold the decision path to
its budget (docs/performance.md).

Counted on the wire, not estimated: libpq's protocol trace of every pooled connection while it is
checked out, and one round trip each time the client reads an answer after sending: a run of
received messages after sent ones. That counts a pipeline's ``Flush`` (a read of a result mid-
pipeline) as well as each ``Sync``; counting ``ReadyForQuery`` alone, as this module once did,
missed the flushes and called a five-round-trip decision four. Where libpq reads while it is still
sending the count can only be higher than the waits, never lower: a budget checked on it holds.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tactful.store.database import Database


class RoundTrips:
    """Traces the database's connections while counting (``with counter.counting(): ...``)."""

    def __init__(self, database: Database, *, all_threads: bool = False) -> None:
        if database.backend != "postgresql":
            raise ValueError("round trips are counted on PostgreSQL only")
        self._engine = database.engine
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - open until close(), like the listeners
        # A connection's trace is buffered by libpq and may be flushed after its window ended (when a
        # writer thread checks it in late): each window writes to a file of its own, and earlier
        # files stay open until close() so a late flush never lands in a reused descriptor.
        self._earlier: list[Any] = []
        self._on = False
        self._thread = 0  # only the counting thread's connections (not a background relay's)
        #: Every thread's (a group commit's batch is led by whichever caller came first).
        self._all_threads = all_threads
        event.listen(self._engine, "checkout", self._checkout)
        event.listen(self._engine, "checkin", self._checkin)

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self._on and (self._all_threads or threading.get_ident() == self._thread):
            from psycopg import pq

            pgconn = dbapi_connection.pgconn
            pgconn.trace(self._file.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    @staticmethod
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.pgconn.untrace()

    @contextmanager
    def counting(self) -> Iterator[None]:
        self._earlier.append(self._file)
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._on = True
        self._thread = threading.get_ident()
        try:
            yield
        finally:
            self._on = False

    def messages(self) -> list[str]:
        """The traced protocol lines since ``counting`` began (``F``: sent, ``B``: received)."""
        self._file.flush()
        self._file.seek(0)
        lines = self._file.read().decode("utf-8", "replace").splitlines()
        self._file.seek(0, 2)
        return lines

    def count(self) -> int:
        trips, sending = 0, False
        for line in self.messages():
            if line.startswith("F\t"):
                sending = True
            elif line.startswith("B\t") and sending:
                trips, sending = trips + 1, False
        return trips

    def sent(self) -> list[str]:
        """What the client sent, one protocol message a line (for reading why a count is what it is)."""
        return [line for line in self.messages() if line.startswith("F\t")]

    def close(self) -> None:
        event.remove(self._engine, "checkout", self._checkout)
        event.remove(self._engine, "checkin", self._checkin)
        for file in (*self._earlier, self._file):
            file.close()
