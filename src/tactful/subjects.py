"""Data-subject rights: the access report (export) and erasure by crypto-shredding.

Both need the engine's store and vault, so they live here, used by the API
(``DELETE /v1/customers/{id}``, ``GET /v1/customers/{id}/export``) and the CLI
(``tactful customers erase|export``) alike.

After an erasure the export of that customer is ``NotFound`` (``customer_not_found``): their
profile, preferences and vault values are gone, their data key is destroyed (a surviving copy of a
ciphertext no longer decrypts), and their decisions, which stay in the store tokenised and
pseudonymous because the audit chain covers them, are left out of any later export. Decisions made
after the erasure (the same id writing in again) form a new record and are exported.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tactful.domain import CustomerId, TenantId
from tactful.engine import Engine
from tactful.errors import NotFound
from tactful.store.sql_vault import Erasure, SqlVaultStore

REPORT_VERSION = 1


def _rows(engine: Engine) -> SqlVaultStore:
    return engine.store.vault


def _subject_ref(engine: Engine, tenant_id: TenantId, customer_id: CustomerId) -> str:
    if engine.vault is not None:
        return engine.vault.subject_ref(tenant_id, customer_id)
    # No vault (PostgreSQL without a master key): an unkeyed hash, weaker (customer ids can be
    # enumerated) but still no id in clear in the audit log.
    return hashlib.sha256(f"{tenant_id}\x00{customer_id}".encode()).hexdigest()[:32]


def export_customer(engine: Engine, tenant_id: TenantId, customer_id: CustomerId) -> dict[str, Any]:
    """Everything held about the customer, values decrypted, every decision with its explanation."""
    rows = _rows(engine)
    erased_at = rows.erased_at(tenant_id, _subject_ref(engine, tenant_id, customer_id))
    customer = rows.customer_row(tenant_id, customer_id)
    values = [] if engine.vault is None else engine.vault.reveal(tenant_id, customer_id)
    decisions = rows.decisions_of(tenant_id, customer_id, after=erased_at)
    if customer is None and not values and not decisions:
        raise NotFound(f"no data held about customer {customer_id!r}", code="customer_not_found")
    outcomes = rows.outcomes_of(tenant_id, [d.decision_id for d in decisions])
    return {
        "report_version": REPORT_VERSION,
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "generated_at": engine.clock().isoformat(),
        "profile": None if customer is None else customer.profile.model_dump(mode="json"),
        "preferences": None if customer is None else customer.preferences.model_dump(mode="json"),
        "personal_data": [
            {
                "token": v.token,
                "kind": v.kind,
                "value": v.value,
                "first_seen": v.first_seen.isoformat(),
                "last_seen": v.last_seen.isoformat(),
            }
            for v in values
        ],
        "decisions": [d.model_dump(mode="json") for d in decisions],
        "outcomes": [
            {
                "event_id": o.event_id,
                "decision_id": o.decision_id,
                "type": o.type,
                "value": o.value,
                "occurred_at": o.occurred_at.isoformat(),
            }
            for o in outcomes
        ],
        "vault": "off: no master key configured" if engine.vault is None else "on",
    }


def erase_customer(engine: Engine, tenant_id: TenantId, customer_id: CustomerId, by: str) -> Erasure:
    """Crypto-shred the customer (see ``SqlVaultStore.erase_customer``); ``NotFound`` if nothing
    is held about them (no profile, no vault key, no decision since a previous erasure)."""
    rows = _rows(engine)
    ref = _subject_ref(engine, tenant_id, customer_id)
    held = (
        rows.customer_row(tenant_id, customer_id) is not None
        or rows.customer_key(tenant_id, customer_id, None) is not None
        or bool(rows.decisions_of(tenant_id, customer_id, after=rows.erased_at(tenant_id, ref)))
    )
    if not held:
        raise NotFound(f"no data held about customer {customer_id!r}", code="customer_not_found")
    erasure = rows.erase_customer(tenant_id, customer_id, ref, by, engine.clock())
    # The feature store's events and state hold no values, but they are still about the customer.
    engine.features.erase_customer(tenant_id, customer_id)
    if engine.hot is not None:  # and the hot store's copy of the state
        engine.hot.features.erase_customer(tenant_id, customer_id)
    # Deleted rows must also leave the files: the WAL (SQLite), dead tuples (PostgreSQL).
    rows.scrub()
    return erasure
