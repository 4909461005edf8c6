"""The PII vault's rows over SQL, and the data-subject queries behind erasure and export.

Implements ``tactful.guard.vault.VaultStore`` (wrapped keys and ciphertexts only: this module never
sees a key or a raw value) plus ``erase_customer`` and the reads the export needs. Every statement
is scoped by tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from tactful.domain import Customer, CustomerId, CustomerProfile, Decision, Preferences, TenantId
from tactful.guard.vault import SealedValue
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import (
    customers,
    decisions,
    outcomes,
    vault_customer_keys,
    vault_erasures,
    vault_tenant_keys,
    vault_values,
)
from tactful.store.sql_audit import AuditStatements, append_in, lock_head, payload_text


def _upsert_value(backend: str) -> Any:
    dialect_insert = postgresql.insert if backend == "postgresql" else sqlite.insert
    upsert = dialect_insert(vault_values).values(
        {c.name: bindparam(c.name, type_=c.type) for c in vault_values.columns}
    )
    return upsert.on_conflict_do_update(
        index_elements=["tenant_id", "customer_id", "token"], set_={"last_seen": upsert.excluded.last_seen}
    )


@dataclass(frozen=True)
class Erasure:
    """What an erasure destroyed (counts only: the audit entry carries this, never a value)."""

    subject_ref: str
    profile_deleted: bool
    key_destroyed: bool
    values_deleted: int
    erased_at: datetime


@dataclass(frozen=True)
class OutcomeRow:
    event_id: str
    decision_id: str
    type: str
    value: float | None
    occurred_at: datetime


class SqlVaultStore:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._q_upsert = PreparedQuery(_upsert_value(database.backend), database.engine)
        self._clock = clock
        self._audit_statements = AuditStatements(database)

    def key_dir(self) -> Path | None:
        """Where generated keys go (``Settings.key_dir``, as the store was opened with)."""
        return self._db.key_dir

    def scrub(self) -> bool:
        """After an erasure: make the deleted key, values and profile leave the database files."""
        return self._db.scrub(("vault_customer_keys", "vault_values", "customers"))

    def sqlite_path(self) -> str | None:
        """Where a generated master key file goes: the SQLite file's path, ":memory:" for an
        in-memory database, None for PostgreSQL (which must be given a master key)."""
        if self._db.backend != "sqlite":
            return None
        database = self._db.engine.url.database or ""
        return ":memory:" if database in ("", ":memory:") or "mode=memory" in database else database

    # -- VaultStore ------------------------------------------------------------------------------

    @translate_driver_errors
    def tenant_key(self, tenant_id: str, wrapped: bytes, master_key_id: str) -> tuple[bytes, str]:
        query = select(vault_tenant_keys.c.wrapped_key, vault_tenant_keys.c.master_key_id).where(
            vault_tenant_keys.c.tenant_id == tenant_id
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is not None:
            return bytes(row.wrapped_key), str(row.master_key_id)
        try:
            with self._db.write() as conn:
                lock_head(conn, TenantId(tenant_id))  # proves the tenant exists; serialises creation
                row = conn.execute(query).first()
                if row is not None:
                    return bytes(row.wrapped_key), str(row.master_key_id)
                conn.execute(
                    insert(vault_tenant_keys).values(
                        tenant_id=tenant_id,
                        wrapped_key=wrapped,
                        master_key_id=master_key_id,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError:  # pragma: no cover - lock_head serialises creators
            return self.tenant_key(tenant_id, wrapped, master_key_id)
        return wrapped, master_key_id

    @translate_driver_errors
    def customer_key(self, tenant_id: str, customer_id: str, wrapped: bytes | None) -> bytes | None:
        query = select(vault_customer_keys.c.wrapped_key).where(
            vault_customer_keys.c.tenant_id == tenant_id, vault_customer_keys.c.customer_id == customer_id
        )
        with self._db.read() as conn:
            found = conn.execute(query).scalar()
        if found is not None or wrapped is None:
            return None if found is None else bytes(found)
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(vault_customer_keys).values(
                        tenant_id=tenant_id,
                        customer_id=customer_id,
                        wrapped_key=wrapped,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError:  # a concurrent first message of the same customer won: use its key
            with self._db.read() as conn:
                found = conn.execute(query).scalar()
            if found is None:
                raise
            return bytes(found)
        return wrapped

    @translate_driver_errors
    def put_values(self, tenant_id: str, customer_id: str, values: list[SealedValue]) -> None:
        if not values:
            return
        for attempt in range(2):  # a concurrent insert of the same token makes the first try fail
            try:
                with self._db.write() as conn:
                    self.put_values_in(conn, tenant_id, customer_id, values)
                return
            except IntegrityError:
                if attempt:
                    raise

    def put_values_write(
        self, tenant_id: str, customer_id: str, values: list[SealedValue]
    ) -> Callable[[RawTransaction], None]:
        """``put_values`` as a write on the decision's own transaction (``SqlStore.record_decision``).
        No retry is needed there: the decision holds its tenant's audit-head lock by then, so no
        other decision of the tenant inserts the same token concurrently."""
        return partial(self.put_values_in, tenant_id=tenant_id, customer_id=customer_id, values=values)

    def put_values_in(
        self, conn: Connection | RawTransaction, tenant_id: str, customer_id: str, values: list[SealedValue]
    ) -> None:
        """Insert values not held yet; for tokens already held only ``last_seen`` moves. One
        prepared upsert, no read: it also runs in PostgreSQL's pipeline mode (the decision's)."""
        if not values:
            return
        RawTransaction.of(conn).execute_many(
            self._q_upsert,
            [
                {
                    "tenant_id": tenant_id,
                    "customer_id": customer_id,
                    "token": v.token,
                    "kind": v.kind,
                    "sealed": v.sealed,
                    "first_seen": v.first_seen,
                    "last_seen": v.last_seen,
                }
                for v in values
            ],
        )

    @translate_driver_errors
    def get_values(self, tenant_id: str, customer_id: str, tokens: Iterable[str] | None) -> list[SealedValue]:
        query = select(vault_values).where(
            vault_values.c.tenant_id == tenant_id, vault_values.c.customer_id == customer_id
        )
        if tokens is not None:
            wanted = list(tokens)
            if not wanted:
                return []
            query = query.where(vault_values.c.token.in_(wanted))
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(vault_values.c.first_seen, vault_values.c.token)).all()
        return [
            SealedValue(
                token=row.token,
                kind=row.kind,
                sealed=bytes(row.sealed),
                first_seen=row.first_seen,
                last_seen=row.last_seen,
            )
            for row in rows
        ]

    # -- erasure ---------------------------------------------------------------------------------

    @translate_driver_errors
    def erase_customer(
        self,
        tenant_id: TenantId,
        customer_id: CustomerId,
        subject_ref: str,
        by: str,
        now: datetime | None = None,
    ) -> Erasure:
        """Crypto-shred the customer in one transaction: delete the data key, the ciphertexts and
        the profile row, mark the erasure and append ``customer.erased`` to the audit chain.
        ``now`` should be the engine's clock, so the erasure orders correctly against decisions."""
        now = now or self._clock()
        with self._db.write() as conn:
            lock_head(conn, tenant_id)  # the tenant exists, and its audit appends are serialised
            key_destroyed = _deleted(
                conn,
                delete(vault_customer_keys).where(
                    vault_customer_keys.c.tenant_id == tenant_id,
                    vault_customer_keys.c.customer_id == customer_id,
                ),
            )
            values_deleted = _deleted(
                conn,
                delete(vault_values).where(
                    vault_values.c.tenant_id == tenant_id, vault_values.c.customer_id == customer_id
                ),
            )
            profile_deleted = _deleted(
                conn,
                delete(customers).where(
                    customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id
                ),
            )
            marked = conn.execute(
                update(vault_erasures)
                .where(vault_erasures.c.tenant_id == tenant_id, vault_erasures.c.subject_ref == subject_ref)
                .values(erased_at=now)
            ).rowcount
            if not marked:
                conn.execute(
                    insert(vault_erasures).values(tenant_id=tenant_id, subject_ref=subject_ref, erased_at=now)
                )
            erasure = Erasure(
                subject_ref=subject_ref,
                profile_deleted=profile_deleted > 0,
                key_destroyed=key_destroyed > 0,
                values_deleted=values_deleted,
                erased_at=now,
            )
            payload: dict[str, Any] = {
                "subject": subject_ref,
                "profile_deleted": erasure.profile_deleted,
                "key_destroyed": erasure.key_destroyed,
                "values_deleted": values_deleted,
                "by": by,
            }
            append_in(
                RawTransaction.of(conn),
                self._audit_statements,
                tenant_id=tenant_id,
                kind="customer.erased",
                payload=payload,
                payload_json=payload_text(payload),
                created_at=now,
                subject=customer_id,
            )
        return erasure

    @translate_driver_errors
    def erased_at(self, tenant_id: TenantId, subject_ref: str) -> datetime | None:
        with self._db.read() as conn:
            value: datetime | None = conn.execute(
                select(vault_erasures.c.erased_at).where(
                    vault_erasures.c.tenant_id == tenant_id, vault_erasures.c.subject_ref == subject_ref
                )
            ).scalar()
        return value

    # -- the export's reads ----------------------------------------------------------------------

    @translate_driver_errors
    def customer_row(self, tenant_id: TenantId, customer_id: CustomerId) -> Customer | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(customers).where(
                    customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id
                )
            ).first()
        if row is None:
            return None
        return Customer(
            tenant_id=tenant_id,
            customer_id=customer_id,
            profile=CustomerProfile.model_validate_json(row.profile),
            preferences=Preferences.model_validate_json(row.preferences),
            version=int(row.version),
        )

    @translate_driver_errors
    def decisions_of(
        self, tenant_id: TenantId, customer_id: CustomerId, after: datetime | None = None
    ) -> list[Decision]:
        query = select(decisions.c.document).where(
            decisions.c.tenant_id == tenant_id, decisions.c.customer_id == customer_id
        )
        if after is not None:
            query = query.where(decisions.c.decided_at > after)
        with self._db.read() as conn:
            documents = conn.execute(
                query.order_by(decisions.c.decided_at, decisions.c.decision_id)
            ).scalars()
            return [Decision.model_validate_json(document) for document in documents]

    @translate_driver_errors
    def outcomes_of(self, tenant_id: TenantId, decision_ids: list[str]) -> list[OutcomeRow]:
        if not decision_ids:
            return []
        with self._db.read() as conn:
            rows = conn.execute(
                select(outcomes)
                .where(outcomes.c.tenant_id == tenant_id, outcomes.c.decision_id.in_(decision_ids))
                .order_by(outcomes.c.occurred_at, outcomes.c.event_id)
            ).all()
        return [
            OutcomeRow(
                event_id=row.event_id,
                decision_id=row.decision_id,
                type=row.type,
                value=row.value,
                occurred_at=row.occurred_at,
            )
            for row in rows
        ]


def _deleted(conn: Connection, statement: Any) -> int:
    return int(conn.execute(statement).rowcount or 0)
