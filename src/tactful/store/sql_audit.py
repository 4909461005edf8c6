"""The audit log over SQL: chained appends inside a caller's transaction, reads and verification."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from tactful.domain import TenantId
from tactful.errors import InputRejected, NotFound
from tactful.store.base import AuditEntry, AuditVerification
from tactful.store.chain import Head, StoredEntry, canonical_json, entry_hash, verify_chain
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import audit_heads, audit_log, tenants

_VERIFY_PAGE = 1000

# Hot-path statements are built once with bind parameters: no per-call construction, and
# SQLAlchemy's compiled cache (and psycopg's server-side prepare) see one statement each.
_LOCK_HEAD = (
    select(audit_heads.c.seq, audit_heads.c.hash)
    .where(audit_heads.c.tenant_id == bindparam("b_tenant_id"))
    .with_for_update()
)
_INSERT_ENTRY = insert(audit_log).values({c.name: bindparam(c.name, type_=c.type) for c in audit_log.columns})
_ADVANCE_HEAD = (
    update(audit_heads)
    .where(audit_heads.c.tenant_id == bindparam("b_tenant_id"))
    .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)


def lock_head(conn: Connection, tenant_id: TenantId) -> Head:
    """Lock the tenant's chain head for the rest of the transaction and return it.

    ``FOR UPDATE`` on PostgreSQL; SQLite's write transaction (BEGIN IMMEDIATE) is exclusive already.
    The head exists from tenant creation, so a missing one means the tenant does not exist.
    """
    row = conn.execute(_LOCK_HEAD, {"b_tenant_id": tenant_id}).first()
    if row is None:
        raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
    return Head(seq=int(row.seq), hash=str(row.hash))


class AuditStatements:
    """The append's three statements, prepared once per database (they run on every decision)."""

    def __init__(self, database: Database) -> None:
        self.lock_head = PreparedQuery(_LOCK_HEAD, database.engine)
        self.insert_entry = PreparedQuery(_INSERT_ENTRY, database.engine)
        self.advance_head = PreparedQuery(_ADVANCE_HEAD, database.engine)


def append_in(
    tx: RawTransaction,
    statements: AuditStatements,
    *,
    tenant_id: TenantId,
    kind: str,
    payload: dict[str, Any],
    payload_json: str,
    created_at: datetime,
    head: list[tuple[Any, ...]] | None = None,
) -> AuditEntry:
    """Append one entry within the caller's write transaction.

    Locking the head serialises a tenant's appends, so seq numbers never fork. ``head``: the rows
    of the head lock the caller sent already (``send_head_lock``), so that other reads could share
    its round trip.
    """
    rows = head if head is not None else send_head_lock(tx, statements, tenant_id).rows()
    row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
    seq = int(row[0]) + 1
    prev_hash = str(row[1])
    digest = entry_hash(
        tenant_id=tenant_id,
        seq=seq,
        kind=kind,
        payload_json=payload_json,
        created_at=created_at,
        prev_hash=prev_hash,
    )
    tx.execute(
        statements.insert_entry,
        {
            "tenant_id": tenant_id,
            "seq": seq,
            "kind": kind,
            "payload": payload_json,
            "created_at": created_at,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    tx.execute(statements.advance_head, {"b_tenant_id": tenant_id, "b_seq": seq, "b_hash": digest})
    return AuditEntry(
        tenant_id=tenant_id,
        seq=seq,
        kind=kind,
        payload=payload,
        created_at=created_at,
        prev_hash=prev_hash,
        hash=digest,
    )


def send_head_lock(tx: RawTransaction, statements: AuditStatements, tenant_id: TenantId) -> RawTransaction:
    """Send the head lock (``SELECT … FOR UPDATE``) without reading it yet (``RawTransaction.send``)."""
    return tx.send(statements.lock_head, {"b_tenant_id": tenant_id})


def payload_text(payload: dict[str, Any]) -> str:
    try:
        return canonical_json(payload)
    except (TypeError, ValueError) as exc:
        raise InputRejected(f"audit payload is not plain JSON: {exc}", code="audit_payload_invalid") from exc


class SqlAuditLog:
    """``AuditLog`` over the store's database."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        self._statements = AuditStatements(database)

    @translate_driver_errors
    def append(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> AuditEntry:
        if not kind or len(kind) > 64:
            raise InputRejected("audit kind must be 1-64 characters", code="audit_kind_invalid")
        text = payload_text(payload)
        with self._db.raw_write() as tx:
            return append_in(
                tx, self._statements, tenant_id=tenant_id, kind=kind, payload=payload, payload_json=text,
                created_at=self._clock(),
            )  # fmt: skip

    @translate_driver_errors
    def entries(self, tenant_id: TenantId, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]:
        if limit < 1:
            raise InputRejected("limit must be at least 1", code="invalid_limit")
        with self._db.read() as conn:
            rows = conn.execute(
                select(audit_log)
                .where(audit_log.c.tenant_id == tenant_id, audit_log.c.seq > after_seq)
                .order_by(audit_log.c.seq)
                .limit(limit)
            ).all()
        return [
            AuditEntry(
                tenant_id=TenantId(row.tenant_id),
                seq=int(row.seq),
                kind=row.kind,
                payload=json.loads(row.payload),
                created_at=row.created_at,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
            for row in rows
        ]

    @translate_driver_errors
    def verify(self, tenant_id: TenantId | None = None) -> list[AuditVerification]:
        with self._db.snapshot() as conn:
            if tenant_id is None:
                ids = [
                    TenantId(t)
                    for t in conn.scalars(select(tenants.c.tenant_id).order_by(tenants.c.tenant_id))
                ]
            else:
                ids = [tenant_id]
            results = []
            for tid in ids:
                row = conn.execute(
                    select(audit_heads.c.seq, audit_heads.c.hash).where(audit_heads.c.tenant_id == tid)
                ).first()
                head = None if row is None else Head(seq=int(row.seq), hash=row.hash)
                results.append(verify_chain(tid, _stored_entries(conn, tid), head))
            return results


def _stored_entries(conn: Connection, tenant_id: TenantId) -> Iterator[StoredEntry]:
    """A tenant's entries in seq order, fetched a page at a time so memory stays flat."""
    after = 0
    while True:
        rows = conn.execute(
            select(
                audit_log.c.seq,
                audit_log.c.kind,
                audit_log.c.payload,
                audit_log.c.created_at,
                audit_log.c.prev_hash,
                audit_log.c.hash,
            )
            .where(audit_log.c.tenant_id == tenant_id, audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(_VERIFY_PAGE)
        ).all()
        for row in rows:
            yield StoredEntry(
                seq=int(row.seq),
                kind=row.kind,
                payload_json=row.payload,
                created_at=row.created_at,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        if len(rows) < _VERIFY_PAGE:
            return
        after = int(rows[-1].seq)
