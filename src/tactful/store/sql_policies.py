"""Policy versions: publish, read, activate, each change appended to the tenant's audit chain."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from tactful.domain import TenantId
from tactful.errors import InputRejected, NotFound
from tactful.store.base import PolicyVersion
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import policies
from tactful.store.sql_audit import AuditStatements, append_in, lock_head, payload_text

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
ACTIVE_POLICY_REF = select(policies.c.version, policies.c.content_hash).where(
    policies.c.tenant_id == bindparam("b_tenant_id"), policies.c.active.is_(True)
)


class PolicyRows:
    """``SqlStore``'s policy calls (a mixin: ``SqlStore`` sets the fields)."""

    _db: Database
    _clock: Callable[[], datetime]
    _q_active_policy: PreparedQuery
    _audit_statements: AuditStatements

    # -- policies ------------------------------------------------------------------------------

    @translate_driver_errors
    def publish_policy(self, tenant_id: TenantId, source: str, content_hash: str, by: str) -> PolicyVersion:
        if not _SHA256_HEX.fullmatch(content_hash):
            raise InputRejected("content_hash must be a lowercase hex sha256", code="invalid_content_hash")
        if not by:
            raise InputRejected("publishing a policy needs the publisher's identity", code="missing_actor")
        now = self._clock()
        with self._db.write() as conn:
            # The head lock serialises this tenant's publishes, so neither the dedupe check nor the
            # next version number can race; it also proves the tenant exists.
            lock_head(conn, tenant_id)
            existing = conn.execute(
                select(policies).where(
                    policies.c.tenant_id == tenant_id, policies.c.content_hash == content_hash
                )
            ).first()
            if existing is not None:
                return _policy(existing)
            version = 1 + int(
                conn.execute(
                    select(func.coalesce(func.max(policies.c.version), 0)).where(
                        policies.c.tenant_id == tenant_id
                    )
                ).scalar_one()
            )
            self._append_audit(
                conn,
                tenant_id,
                "policy.publish",
                {"version": version, "content_hash": content_hash, "by": by},
                now,
            )
            conn.execute(
                insert(policies).values(
                    tenant_id=tenant_id,
                    version=version,
                    content_hash=content_hash,
                    source=source,
                    created_at=now,
                    created_by=by,
                    active=False,
                )
            )
        return PolicyVersion(
            tenant_id=tenant_id,
            version=version,
            content_hash=content_hash,
            source=source,
            created_at=now,
            created_by=by,
            active=False,
        )

    @translate_driver_errors
    def get_policy(self, tenant_id: TenantId, version: int | None = None) -> PolicyVersion | None:
        query = select(policies).where(policies.c.tenant_id == tenant_id)
        query = query.where(policies.c.active.is_(True) if version is None else policies.c.version == version)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _policy(row)

    @translate_driver_errors
    def active_policy_ref(self, tenant_id: TenantId) -> tuple[int, str] | None:
        row = self._db.fetch_one(self._q_active_policy, {"b_tenant_id": tenant_id})
        return None if row is None else (int(row[0]), str(row[1]))

    @translate_driver_errors
    def list_policies(self, tenant_id: TenantId) -> list[PolicyVersion]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(policies).where(policies.c.tenant_id == tenant_id).order_by(policies.c.version)
            ).all()
        return [_policy(row) for row in rows]

    @translate_driver_errors
    def activate_policy(self, tenant_id: TenantId, version: int, by: str) -> PolicyVersion:
        if not by:
            raise InputRejected("activating a policy needs the actor's identity", code="missing_actor")
        now = self._clock()
        with self._db.write() as conn:
            # Serialise with the tenant's other policy changes before reading the current state.
            lock_head(conn, tenant_id)
            row = conn.execute(
                select(policies).where(policies.c.tenant_id == tenant_id, policies.c.version == version)
            ).first()
            if row is None:
                raise NotFound(
                    f"policy version {version} does not exist for this tenant",
                    code="policy_version_not_found",
                )
            target = _policy(row)
            if target.active:
                return target  # already live: nothing changes, nothing to audit
            self._append_audit(
                conn,
                tenant_id,
                "policy.activate",
                {"version": version, "content_hash": target.content_hash, "by": by},
                now,
            )
            # Deactivate first: the partial unique index allows only one active row at a time.
            conn.execute(
                update(policies)
                .where(policies.c.tenant_id == tenant_id, policies.c.active.is_(True))
                .values(active=False)
            )
            conn.execute(
                update(policies)
                .where(policies.c.tenant_id == tenant_id, policies.c.version == version)
                .values(active=True)
            )
        return PolicyVersion(
            tenant_id=target.tenant_id,
            version=target.version,
            content_hash=target.content_hash,
            source=target.source,
            created_at=target.created_at,
            created_by=target.created_by,
            active=True,
        )

    def _append_audit(
        self, conn: Connection, tenant_id: TenantId, kind: str, payload: dict[str, Any], now: datetime
    ) -> None:
        append_in(
            RawTransaction.of(conn),
            self._audit_statements,
            tenant_id=tenant_id,
            kind=kind,
            payload=payload,
            payload_json=payload_text(payload),
            created_at=now,
        )


def _policy(row: Row[Any]) -> PolicyVersion:
    return PolicyVersion(
        tenant_id=TenantId(row.tenant_id),
        version=int(row.version),
        content_hash=row.content_hash,
        source=row.source,
        created_at=row.created_at,
        created_by=row.created_by,
        active=bool(row.active),
    )
