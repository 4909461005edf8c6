"""A psycopg connection whose every wait for the server has a deadline.

psycopg waits for an answer as long as it takes; ``statement_timeout`` cannot help when the server
itself is frozen (SIGSTOP, a hung host), so the client needs its own deadline. A wait that misses
it closes the connection (its protocol state is unknown) and raises ``OperationalError``: the
store turns that into ``StoreError`` and SQLAlchemy drops the closed connection from the pool.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors


class TimedConnection(psycopg.Connection[Any]):
    #: Seconds one wait may take; set per engine on a subclass (``timed_connection_class``).
    wait_timeout: float = 10.0

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        limit = self.wait_timeout if timeout is None else timeout
        try:
            return super().wait(gen, interval=interval, timeout=limit)
        except errors._WaitTimeout as exc:
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from the database server within {self.wait_timeout:g} s"
            ) from exc


def timed_connection_class(timeout: float) -> type[TimedConnection]:
    return type("TimedConnection", (TimedConnection,), {"wait_timeout": timeout})
