"""Consent changes over SQL: a customer's preferences changed, recorded and audited in one transaction.

Every path that changes consent (an SMS keyword, ``PUT``/``PATCH`` of preferences, a customer
``PUT``) comes through :meth:`SqlConsent.change`, which

- reads the stored preferences under the write lock (``FOR UPDATE`` on PostgreSQL) and applies the
  caller's function to them, so two concurrent changes compose instead of one overwriting the other;
- records the change in ``consent_changes`` with who, when, before and after, keyed by
  ``change_id`` — an inbound event's id for keyword changes, so an event delivered eight times at
  once changes consent (and is audited) exactly once: the primary key decides the race;
- appends ``consent.changed`` to the customer's audit chain with the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from tactful.domain import CustomerId, CustomerProfile, Preferences, TenantId, new_id
from tactful.errors import NotFound
from tactful.store.database import Database, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import consent_changes, customers, tenants
from tactful.store.sql_audit import AuditStatements, append_in, payload_text


@dataclass(frozen=True)
class ConsentChangeRecord:
    change_id: str
    customer_id: str
    source: str  # "sms_keyword" | "api_put" | "api_patch" | "api_put_customer"
    actor: str  # "customer:sms" or "key:<key id>"
    before: dict[str, Any]
    after: dict[str, Any]
    changed_at: datetime


class SqlConsent:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        self._audit = AuditStatements(database)

    @translate_driver_errors
    def change(
        self,
        tenant_id: TenantId,
        customer_id: CustomerId,
        apply: Callable[[Preferences], Preferences],
        *,
        source: str,
        actor: str,
        change_id: str | None = None,
    ) -> tuple[Preferences, bool]:
        """Apply ``apply`` to the stored preferences (defaults for a new customer) and store the
        result. Returns the preferences now stored and whether this call changed anything.

        With ``change_id`` (an event id) the change happens once however often, or however
        concurrently, it is asked for, and is recorded even when it changes nothing (a STOP from an
        opted-out customer is still a request the log must show). Without one, a call that changes
        nothing records nothing."""
        for attempt in range(2):
            try:
                return self._change_once(
                    tenant_id, customer_id, apply, source=source, actor=actor, change_id=change_id
                )
            except IntegrityError:
                # A concurrent duplicate of this change committed first (its primary key), or a
                # concurrent first insert of the customer did: the retry sees either.
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _change_once(
        self,
        tenant_id: TenantId,
        customer_id: CustomerId,
        apply: Callable[[Preferences], Preferences],
        *,
        source: str,
        actor: str,
        change_id: str | None,
    ) -> tuple[Preferences, bool]:
        now = self._clock()
        with self._db.write() as conn:
            row = conn.execute(
                select(customers.c.preferences)
                .where(customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id)
                .with_for_update()
            ).first()
            before = Preferences() if row is None else Preferences.model_validate_json(row.preferences)
            if change_id is not None and _recorded(conn, tenant_id, change_id):
                return before, False
            after = apply(before)
            if change_id is None and after == before:
                return before, False
            before_json, after_json = _prefs_json(before), _prefs_json(after)
            change_id = change_id or new_id("chg")
            conn.execute(
                insert(consent_changes).values(
                    tenant_id=tenant_id,
                    change_id=change_id,
                    customer_id=customer_id,
                    source=source,
                    actor=actor,
                    before=before_json,
                    after=after_json,
                    changed_at=now,
                )
            )
            stored = after.model_dump_json()
            if row is None:
                if (
                    conn.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id)).first()
                    is None
                ):
                    raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
                conn.execute(
                    insert(customers).values(
                        tenant_id=tenant_id,
                        customer_id=customer_id,
                        profile=CustomerProfile().model_dump_json(),
                        preferences=stored,
                        version=1,
                        updated_at=now,
                    )
                )
            elif after != before:
                conn.execute(
                    update(customers)
                    .where(customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id)
                    .values(preferences=stored, version=customers.c.version + 1, updated_at=now)
                )
            payload = {
                "change_id": change_id,
                "customer_id": customer_id,
                "source": source,
                "by": actor,
                "before": json.loads(before_json),
                "after": json.loads(after_json),
            }
            append_in(
                RawTransaction.of(conn),
                self._audit,
                tenant_id=tenant_id,
                kind="consent.changed",
                payload=payload,
                payload_json=payload_text(payload),
                created_at=now,
                subject=customer_id,
            )
        return after, after != before

    @translate_driver_errors
    def changes(
        self, tenant_id: TenantId, customer_id: CustomerId | None = None
    ) -> list[ConsentChangeRecord]:
        query = select(consent_changes).where(consent_changes.c.tenant_id == tenant_id)
        if customer_id is not None:
            query = query.where(consent_changes.c.customer_id == customer_id)
        with self._db.read() as conn:
            rows = conn.execute(
                query.order_by(consent_changes.c.changed_at, consent_changes.c.change_id)
            ).all()
        return [
            ConsentChangeRecord(
                change_id=r.change_id,
                customer_id=r.customer_id,
                source=r.source,
                actor=r.actor,
                before=json.loads(r.before),
                after=json.loads(r.after),
                changed_at=r.changed_at,
            )
            for r in rows
        ]


def _recorded(conn: Connection, tenant_id: TenantId, change_id: str) -> bool:
    found = conn.execute(
        select(consent_changes.c.change_id).where(
            consent_changes.c.tenant_id == tenant_id, consent_changes.c.change_id == change_id
        )
    ).first()
    return found is not None


def _prefs_json(preferences: Preferences) -> str:
    """Canonical (sorted sets), so before and after compare and read the same way everywhere."""
    data = preferences.model_dump(mode="json")
    for name in ("opted_out", "opted_in"):
        data[name] = sorted(data[name])
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
