"""Per-tenant retention: how many days each kind of record is kept, and the purge that enforces it.

Kinds and the tables they purge are listed in :data:`PURGE_TARGETS`. To put a new table under
retention (an events table, a feature log), append a ``PurgeTarget`` to the kind it belongs to, or
add a kind; the CLI, the API and the tests pick the list up from here.

What a purge never touches: the audit chain. Decision entries there hold the decision and a
minimised snapshot (no message text, no raw personal data), so the chain keeps verifying and the
compliance report keeps covering purged periods. Customers' personal data is removed by erasure
(crypto-shredding), not by retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tactful.domain import TenantId
from tactful.errors import InputRejected
from tactful.store.base import Store
from tactful.store.schema import decision_facts, decisions, events, learning_events, outbox, outcomes
from tactful.store.sql_governance import PurgeCount, PurgeTarget
from tactful.tenants import governance_of

#: kind -> the tables it purges, in order. Deleting a decision deletes its outcomes and the learner's
#: record of it first (foreign keys), whatever the outcomes' own retention. A test checks that every
#: table referencing ``decisions`` is listed as a child here.
PURGE_TARGETS: dict[str, list[PurgeTarget]] = {
    "outcomes": [PurgeTarget(outcomes, "occurred_at")],
    "decisions": [
        PurgeTarget(
            decisions,
            "decided_at",
            id_column="decision_id",
            children=((outcomes, "decision_id"), (learning_events, "decision_id")),
        ),
        # The console's and the experiments' read model of the same decisions (issue 15).
        PurgeTarget(decision_facts, "decided_at"),
    ],
    # Events already relayed to the bus; unpublished ones are never purged (they would be lost).
    "events": [
        PurgeTarget(outbox, "created_at", condition=lambda t: t.c.published_at.is_not(None)),
        # The feature store's event log (issue 6). Features fold into per-customer state, so a
        # purge does not change current values; a rebuild after a purge only sees what is left, so
        # keep events at least as long as the longest feature window (30 days in the default set).
        PurgeTarget(events, "occurred_at"),
    ],
}
MIN_DAYS = 1  # the contact-fatigue cap counts the last 24 h of decisions
MAX_DAYS = 36_500


def kinds() -> list[str]:
    return list(PURGE_TARGETS)


def set_retention(store: Store, tenant_id: TenantId, kind: str, days: int, *, by: str) -> None:
    if kind not in PURGE_TARGETS:
        raise InputRejected(
            f"unknown retention kind {kind!r}; one of {', '.join(kinds())}", code="invalid_retention_kind"
        )
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise InputRejected(
            f"retention days must be {MIN_DAYS}–{MAX_DAYS}, not {days}", code="invalid_retention_days"
        )
    governance_of(store).set_retention(tenant_id, kind, days, by=by)


def retention(store: Store, tenant_id: TenantId) -> dict[str, int | None]:
    """Days per kind; None means kept until erased or purged by hand."""
    stored = governance_of(store).retention(tenant_id)
    return {kind: stored.get(kind) for kind in PURGE_TARGETS}


def purge(store: Store, tenant_id: TenantId, *, now: datetime, by: str) -> list[PurgeCount]:
    """Delete what is older than each configured retention; idempotent; audited (``retention.purge``).

    Kinds without a retention setting are left alone.
    """
    days = governance_of(store).retention(tenant_id)
    plan = [
        (kind, target, now - timedelta(days=days[kind]))
        for kind, targets in PURGE_TARGETS.items()
        if kind in days
        for target in targets
    ]
    return governance_of(store).purge(tenant_id, plan, by=by)
