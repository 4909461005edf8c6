"""The outbox relay's statements: one claim and one mark per chunk (issue 12).

A relay pass is one short write transaction per chunk: mark the chunk just published, and claim
the next with a single ``UPDATE … RETURNING`` (SQLite ≥ 3.35, PostgreSQL) — two statements
whatever the chunk's size, where the old claim ran a SELECT, then one UPDATE per row. On
PostgreSQL the transaction is pipelined: BEGIN, mark, claim and COMMIT leave together and the
claim's rows come back in one round trip.

The claimed events are handed out as the text the decision stored, unparsed: the relay parses
each once with pydantic's JSON parser, and a bus that can publishes that text as it is. A
decision's event is stored without its payload, which is the decision's document (the commit
writes it once fewer, and a mark rewrites short rows; migration 0011): the claim reads the
document with the row (PostgreSQL: a subquery in its ``RETURNING``, still one round trip; SQLite:
a second statement in the same transaction) and splices it in (``with_payload``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy import BigInteger, Integer, any_, bindparam, column, func, null, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from tactful.errors import InputRejected
from tactful.store.database import Database, PreparedQuery
from tactful.store.schema import UtcDateTime, decisions, outbox

DEFAULT_OUTBOX_LEASE = timedelta(seconds=30)

log = logging.getLogger(__name__)


def _in_ids(backend: str) -> ColumnElement[bool]:
    """``outbox.id`` is one of the ids bound as ``b_ids``, as one statement whatever their number
    (a prepared text that never changes): an array on PostgreSQL, a JSON array on SQLite."""
    if backend == "postgresql":
        return outbox.c.id == any_(bindparam("b_ids", type_=ARRAY(BigInteger())))
    listed: Select[Any] = select(column("value")).select_from(func.json_each(bindparam("b_ids")))
    return outbox.c.id.in_(listed.scalar_subquery())


def _claim(backend: str) -> Any:
    pg = backend == "postgresql"
    expired = UtcDateTime()
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.published_at.is_(None),
            outbox.c.claimed_at.is_(None) | (outbox.c.claimed_at < bindparam("b_expired", type_=expired)),
        )
        .order_by(outbox.c.id)
        .limit(bindparam("b_limit", type_=Integer()))
    )
    if pg:
        due = due.with_for_update(skip_locked=True)  # concurrent relays take disjoint chunks
    return (
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(claimed_at=bindparam("b_now", type_=UtcDateTime()))
        .returning(outbox.c.id, outbox.c.event, outbox.c.decision_id, _document if pg else null())
    )


# On PostgreSQL the referenced decision's document comes back with the claim's own rows, from a
# correlated subquery in RETURNING (an index lookup per row; no extra round trip). SQLite takes
# the subquery but scans `decisions` for it inside RETURNING, so there a second statement joins
# the claimed ids to their documents (`_documents`), in the same transaction.
_document = (
    select(decisions.c.document)
    .where(
        decisions.c.tenant_id == outbox.c.tenant_id,
        decisions.c.decision_id == outbox.c.decision_id,
    )
    .correlate(outbox)
    .scalar_subquery()
)


def _documents(backend: str) -> Select[Any]:
    joined = outbox.join(
        decisions,
        (decisions.c.tenant_id == outbox.c.tenant_id) & (decisions.c.decision_id == outbox.c.decision_id),
    )
    return select(outbox.c.id, decisions.c.document).select_from(joined).where(_in_ids(backend))


class SqlOutbox:
    """``tactful.store.base.Outbox`` over the ``outbox`` table."""

    def __init__(self, database: Database, clock: Callable[[], datetime], lease: timedelta) -> None:
        self._db = database
        self._clock = clock
        self._lease = lease
        prepare = partial(PreparedQuery, engine=database.engine)
        backend = database.backend
        self._pg = backend == "postgresql"
        self._q_claim = prepare(_claim(backend))
        self._q_documents = prepare(_documents(backend))
        pending = outbox.c.published_at.is_(None)
        self._q_mark = prepare(
            update(outbox)
            .where(_in_ids(backend), pending)
            .values(published_at=bindparam("b_now", type_=UtcDateTime()))
        )
        # A literal NULL: prepared statements bind named parameters only.
        self._q_release = prepare(update(outbox).where(_in_ids(backend), pending).values(claimed_at=null()))

    def _ids(self, ids: Sequence[int]) -> object:
        return list(ids) if self._pg else orjson.dumps(list(ids)).decode()

    def claim(self, limit: int, published: Sequence[int] = ()) -> list[tuple[int, str]]:
        """Mark ``published`` and lease up to ``limit`` due events, oldest first, as
        ``(outbox_id, stored envelope JSON)``, in one transaction of two statements."""
        if limit < 1:
            raise InputRejected("limit must be at least 1", code="invalid_limit")
        now = self._clock()
        with self._db.raw_write(durable=False, pipeline=True) as tx:
            if published:
                tx.execute(self._q_mark, {"b_ids": self._ids(published), "b_now": now})
            values = {"b_now": now, "b_expired": now - self._lease, "b_limit": limit}
            if self._pg:
                # Read after the COMMIT went out with the rest (``settle``): one round trip.
                claimed = tx.send(self._q_claim, values)
            else:
                rows = tx.fetch_all(self._q_claim, values)  # SQLite: read before its COMMIT
                referring = [row[0] for row in rows if row[2] is not None]
                if referring:
                    found = dict(tx.fetch_all(self._q_documents, {"b_ids": self._ids(referring)}))
                    rows = [(i, event, ref, found.get(i)) for i, event, ref, _ in rows]
        if self._pg:
            rows = claimed.rows()
        events: list[tuple[int, str]] = []
        gone: list[int] = []
        for row_id, event, decision_id, document in rows:
            if decision_id is None:
                events.append((int(row_id), event))
            elif document is not None:
                events.append((int(row_id), with_payload(event, document, stored="null")))
            else:
                gone.append(int(row_id))
        if gone:
            # Its decision was deleted before the event went out (retention or erasure after a
            # long bus outage): there is nothing left to announce, and an event without its
            # payload must not reach consumers. Marked, so it does not hold the relay up.
            log.warning("outbox: %d decision events whose decisions are gone, not published", len(gone))
            self.mark(gone)
        # RETURNING gives rows in no promised order; the relay publishes in commit (id) order.
        return sorted(events)

    def release(self, ids: Sequence[int], published: Sequence[int] = ()) -> None:
        """Un-claim ``ids`` (a chunk the bus refused) after marking ``published``."""
        now = self._clock()
        with self._db.raw_write(durable=False, pipeline=True) as tx:
            if published:
                tx.execute(self._q_mark, {"b_ids": self._ids(published), "b_now": now})
            if ids:
                tx.execute(self._q_release, {"b_ids": self._ids(ids)})

    def mark(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self._db.raw_write(durable=False, pipeline=True) as tx:
            tx.execute(self._q_mark, {"b_ids": self._ids(ids), "b_now": self._clock()})


def with_payload(envelope_json: str, payload_json: str, *, stored: str = "{}") -> str:
    """An envelope's JSON (serialised with the payload ``stored``) with ``payload_json`` as its
    payload.

    The envelope's own ``"payload":…`` is the only one in its text: every other value is a string
    (where quotes are escaped) or the string-valued trace context.
    """
    empty = '"payload":' + stored
    if envelope_json.count(empty) != 1:  # pragma: no cover - the Envelope model guarantees one
        raise ValueError(f"envelope JSON without exactly one {empty}")
    return envelope_json.replace(empty, '"payload":' + payload_json, 1)
