"""Governance over SQL: API keys by id (authentication), key lifecycle, retention settings and purges.

Every change here is audited in the same transaction as the change itself, so the audit chain and
the state it describes never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tactful.domain import TenantId
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import api_keys, retention_policies, tenants
from tactful.store.sql_audit import AuditStatements, append_in, lock_head, payload_text

API_KEY_ROLES = ("admin", "decide", "auditor")

# Authentication's one read per request: the key's tenant, role, hash and (re-read every time, so a
# revocation in any process applies to the next request) its revoked flag.
_KEY_BY_ID = select(api_keys.c.tenant_id, api_keys.c.role, api_keys.c.revoked, api_keys.c.key_hash).where(
    api_keys.c.key_id == bindparam("b_key_id")
)


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    tenant_id: TenantId
    role: str
    revoked: bool
    key_hash: str  # "scrypt$…" (current) or a SHA-256 hex digest (keys issued before issue 5)
    created_at: datetime | None  # None from key_by_id: the hot path does not read it


@dataclass(frozen=True)
class PurgeTarget:
    """One table a retention kind purges.

    ``time_column`` is compared with the cutoff; ``condition`` narrows further (the outbox purges
    only published rows). ``children`` are ``(table, column)`` pairs whose rows reference this
    table's ``id_column`` and go first (an outcome cannot outlive its decision: foreign key).
    """

    table: Table
    time_column: str
    id_column: str | None = None
    children: tuple[tuple[Table, str], ...] = ()
    condition: Callable[[Table], ColumnElement[bool]] | None = None


@dataclass(frozen=True)
class PurgeCount:
    kind: str
    table: str
    deleted: int
    cutoff: datetime


class SqlGovernance:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        self._audit = AuditStatements(database)
        self._q_key_by_id = PreparedQuery(_KEY_BY_ID, database.engine)

    # -- keys ---------------------------------------------------------------------------------

    @translate_driver_errors
    def key_by_id(self, key_id: str) -> KeyRow | None:
        row = self._db.fetch_one(self._q_key_by_id, {"b_key_id": key_id})
        if row is None:
            return None
        tenant_id, role, revoked, key_hash = row
        return KeyRow(key_id, TenantId(tenant_id), str(role), bool(revoked), str(key_hash), None)

    @translate_driver_errors
    def add_key(self, tenant_id: TenantId, key_id: str, key_hash: str, role: str, *, by: str) -> KeyRow:
        if role not in API_KEY_ROLES:
            raise InputRejected(
                f"unknown role {role!r}; one of {', '.join(API_KEY_ROLES)}", code="invalid_role"
            )
        now = self._clock()
        try:
            with self._db.write() as conn:
                self._append(conn, tenant_id, "key.create", {"key_id": key_id, "role": role, "by": by}, now)
                conn.execute(
                    insert(api_keys).values(
                        tenant_id=tenant_id,
                        key_id=key_id,
                        key_hash=key_hash,
                        role=role,
                        revoked=False,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            raise Conflict("an API key with this id already exists", code="api_key_exists") from exc
        return KeyRow(key_id, tenant_id, role, False, key_hash, now)

    @translate_driver_errors
    def list_keys(self, tenant_id: TenantId) -> list[KeyRow]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(api_keys).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.created_at)
            ).all()
        return [
            KeyRow(r.key_id, TenantId(r.tenant_id), r.role, bool(r.revoked), r.key_hash, r.created_at)
            for r in rows
        ]

    @translate_driver_errors
    def revoke_key(self, tenant_id: TenantId, key_id: str, *, by: str) -> KeyRow:
        """Revoke (idempotent: revoking a revoked key changes nothing and audits nothing)."""
        now = self._clock()
        with self._db.write() as conn:
            row = conn.execute(
                select(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
            ).first()
            if row is None:  # another tenant's key is indistinguishable from a missing one
                raise NotFound(f"no API key {key_id!r} for this tenant", code="api_key_not_found")
            if not row.revoked and row.role == "admin":
                # Serialise with other revocations of this tenant (chain 0's head), then count.
                lock_head(conn, tenant_id)
                others = conn.execute(
                    select(api_keys.c.key_id).where(
                        api_keys.c.tenant_id == tenant_id,
                        api_keys.c.role == "admin",
                        api_keys.c.revoked.is_(False),
                        api_keys.c.key_id != key_id,
                    )
                ).first()
                if others is None:
                    raise Conflict(
                        "this is the tenant's last active admin key: create another admin key first "
                        "(tactful keys create --role admin), or the tenant is locked out",
                        code="last_admin_key",
                    )
            if not row.revoked:
                self._append(conn, tenant_id, "key.revoke", {"key_id": key_id, "by": by}, now)
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
                    .values(revoked=True)
                )
        return KeyRow(key_id, tenant_id, row.role, True, row.key_hash, row.created_at)

    # -- retention ----------------------------------------------------------------------------

    @translate_driver_errors
    def retention(self, tenant_id: TenantId) -> dict[str, int]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(retention_policies.c.kind, retention_policies.c.days).where(
                    retention_policies.c.tenant_id == tenant_id
                )
            ).all()
        return {str(r.kind): int(r.days) for r in rows}

    @translate_driver_errors
    def set_retention(self, tenant_id: TenantId, kind: str, days: int, *, by: str) -> None:
        now = self._clock()
        key = (retention_policies.c.tenant_id == tenant_id, retention_policies.c.kind == kind)
        with self._db.write() as conn:
            self._append(conn, tenant_id, "retention.set", {"kind": kind, "days": days, "by": by}, now)
            changed = conn.execute(
                update(retention_policies).where(*key).values(days=days, updated_at=now, updated_by=by)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(retention_policies).values(
                        tenant_id=tenant_id, kind=kind, days=days, updated_at=now, updated_by=by
                    )
                )

    @translate_driver_errors
    def purge(
        self,
        tenant_id: TenantId,
        plan: Sequence[tuple[str, PurgeTarget, datetime]],
        *,
        by: str,
    ) -> list[PurgeCount]:
        """Delete each target's rows older than its cutoff, and audit what went, in one transaction."""
        now = self._clock()
        counts: list[PurgeCount] = []
        with self._db.write() as conn:
            if (
                conn.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id)).first()
                is None
            ):
                raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
            for kind, target, cutoff in plan:
                table = target.table
                old = (table.c.tenant_id == tenant_id) & (table.c[target.time_column] < cutoff)
                if target.condition is not None:
                    old = old & target.condition(table)
                if target.id_column is not None:
                    doomed = select(table.c[target.id_column]).where(old)
                    for child, column in target.children:
                        deleted = conn.execute(
                            delete(child).where(child.c.tenant_id == tenant_id, child.c[column].in_(doomed))
                        ).rowcount
                        counts.append(PurgeCount(kind, child.name, int(deleted), cutoff))
                deleted = conn.execute(delete(table).where(old)).rowcount
                counts.append(PurgeCount(kind, table.name, int(deleted), cutoff))
            self._append(
                conn,
                tenant_id,
                "retention.purge",
                {
                    "by": by,
                    "deleted": [
                        {"kind": c.kind, "table": c.table, "rows": c.deleted, "cutoff": c.cutoff.isoformat()}
                        for c in counts
                    ],
                },
                now,
            )
        return counts

    def _append(
        self, conn: Any, tenant_id: TenantId, kind: str, payload: dict[str, Any], now: datetime
    ) -> None:
        append_in(
            RawTransaction.of(conn),
            self._audit,
            tenant_id=tenant_id,
            kind=kind,
            payload=payload,
            payload_json=payload_text(payload),
            created_at=now,
        )
