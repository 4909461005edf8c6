"""Retention: per-tenant settings, the purge (idempotent, audited, chain intact), on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tactful.context.events import FeatureEvent
from tactful.domain import DecisionId, EventId, Outcome, OutcomeType, TenantId
from tactful.errors import InputRejected
from tactful.governance import retention
from tactful.store import SqlStore
from tactful.store.schema import decisions, events, outbox, outcomes
from tests.governance.conftest import START, Clock
from tests.store.conftest import DecisionFactory

DAY = timedelta(days=1)


def _count(store: SqlStore, table: object, tenant_id: str) -> int:
    with store._db.read() as conn:  # test-only peek at row counts
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
            ).scalar_one()
        )  # type: ignore[attr-defined]


def _decide(store: SqlStore, clock: Clock, make: DecisionFactory, tenant_id: str, at: datetime) -> DecisionId:
    clock.now = at
    decision, _ = store.record_decision(make(tenant_id, decided_at=at), {"pii_kinds": []})
    return decision.decision_id


def _outcome(
    store: SqlStore, clock: Clock, tenant_id: str, decision_id: DecisionId, at: datetime, n: int
) -> None:
    clock.now = at
    store.record_outcome(
        Outcome(
            event_id=EventId(f"out-{n}"),
            tenant_id=TenantId(tenant_id),
            decision_id=decision_id,
            type=OutcomeType.RESOLVED,
            occurred_at=at,
        )
    )


def test_purge_deletes_only_what_is_older_than_each_kind_keeps(gstore: SqlStore, clock: Clock) -> None:
    make = DecisionFactory()
    acme = gstore.create_tenant("acme").tenant_id
    globex = gstore.create_tenant("globex").tenant_id
    old = _decide(gstore, clock, make, acme, START - 40 * DAY)
    new = _decide(gstore, clock, make, acme, START - 5 * DAY)
    _decide(gstore, clock, make, globex, START - 400 * DAY)  # another tenant's: never touched
    _outcome(gstore, clock, acme, old, START - 1 * DAY, 1)  # recent, but its decision goes
    _outcome(gstore, clock, acme, new, START - 20 * DAY, 2)  # older than outcomes keep
    _outcome(gstore, clock, acme, new, START - 2 * DAY, 3)  # kept
    gstore.mark_published([row_id for row_id, _ in gstore.claim_outbox(100)])  # all relayed
    clock.now = START
    _decide(gstore, clock, make, acme, START - 60 * DAY)  # its outbox row is fresh and unpublished
    # The feature store's event log (issue 6) is purged with the events kind, by event time.
    gstore.features.ingest(
        [
            FeatureEvent(
                acme, f"msg-{days}", "cust-1", "message.received", START - days * DAY, {"channel": "chat"}
            )
            for days in (9, 3)
        ]
    )
    decision_entries = sum(e.kind == "decision" for e in gstore.audit.entries(acme))

    retention.set_retention(gstore, acme, "decisions", 30, by="alice")
    retention.set_retention(gstore, acme, "outcomes", 10, by="alice")
    retention.set_retention(gstore, acme, "events", 7, by="alice")
    assert retention.retention(gstore, acme) == {"outcomes": 10, "decisions": 30, "events": 7}
    assert retention.retention(gstore, globex) == {"outcomes": None, "decisions": None, "events": None}

    counts = retention.purge(gstore, acme, now=START, by="alice")
    got = {(c.kind, c.table): c.deleted for c in counts}
    assert got == {
        ("outcomes", "outcomes"): 1,
        ("decisions", "outcomes"): 1,
        ("decisions", "learning_events"): 0,  # the learner saw none of these
        ("decisions", "decisions"): 2,
        ("decisions", "decision_facts"): 0,  # these decisions were stored directly, without the engine
        ("events", "outbox"): 2,  # published and older than 7 days: the -40 d decision, the -20 d outcome
        ("events", "events"): 1,  # the 9-day-old message event
    }
    assert _count(gstore, events, acme) == 1
    assert _count(gstore, decisions, acme) == 1 and _count(gstore, outcomes, acme) == 1
    assert _count(gstore, decisions, globex) == 1
    assert _count(gstore, outbox, acme) == 4  # three recent published events + the unpublished one

    again = retention.purge(gstore, acme, now=START, by="alice")
    assert all(c.deleted == 0 for c in again)  # idempotent

    entries = gstore.audit.entries(acme)
    purges = [e for e in entries if e.kind == "retention.purge"]
    assert len(purges) == 2 and purges[0].payload["by"] == "alice"
    first = {(d["kind"], d["table"]): (d["rows"], d["cutoff"]) for d in purges[0].payload["deleted"]}
    assert first[("decisions", "decisions")] == (2, (START - 30 * DAY).isoformat())
    # The chain verifies and keeps every decision entry: they hold no raw personal data.
    assert sum(e.kind == "decision" for e in entries) == decision_entries
    assert all(v.ok for v in gstore.audit.verify())


def test_without_retention_nothing_is_purged_but_the_run_is_audited(gstore: SqlStore, clock: Clock) -> None:
    acme = gstore.create_tenant("acme").tenant_id
    _decide(gstore, clock, DecisionFactory(), acme, START - 4000 * DAY)
    assert retention.purge(gstore, acme, now=START, by="cli") == []
    assert _count(gstore, decisions, acme) == 1
    assert gstore.audit.entries(acme)[-1].kind == "retention.purge"


@pytest.mark.parametrize(
    ("kind", "days", "code"),
    [
        ("messages2", 5, "invalid_retention_kind"),
        ("decisions", 0, "invalid_retention_days"),
        ("events", 36_501, "invalid_retention_days"),
    ],
)
def test_bad_retention_settings_are_refused(gstore: SqlStore, kind: str, days: int, code: str) -> None:
    acme = gstore.create_tenant("acme").tenant_id
    with pytest.raises(InputRejected) as exc:
        retention.set_retention(gstore, acme, kind, days, by="alice")
    assert exc.value.code == code
    assert retention.retention(gstore, acme)[kind if kind in retention.PURGE_TARGETS else "events"] is None


def test_setting_retention_twice_keeps_the_last_value_and_audits_both(gstore: SqlStore) -> None:
    acme = gstore.create_tenant("acme").tenant_id
    retention.set_retention(gstore, acme, "decisions", 90, by="alice")
    retention.set_retention(gstore, acme, "decisions", 30, by="bob")
    assert retention.retention(gstore, acme)["decisions"] == 30
    sets = [
        (e.payload["days"], e.payload["by"]) for e in gstore.audit.entries(acme) if e.kind == "retention.set"
    ]
    assert sets == [(90, "alice"), (30, "bob")]


def test_every_table_referencing_decisions_is_purged_with_them() -> None:
    from tactful.store.schema import metadata

    purged_first = {
        child.name for target in retention.PURGE_TARGETS["decisions"] for child, _ in target.children
    }
    referencing = {
        table.name
        for table in metadata.tables.values()
        for fk in table.foreign_key_constraints
        if fk.referred_table.name == "decisions"
    }
    assert referencing <= purged_first


def test_purge_removes_the_learners_record_of_a_purged_decision(gstore: SqlStore, clock: Clock) -> None:
    from tactful.learn.store import LoggedChoice
    from tactful.store.schema import learning_events

    make = DecisionFactory()
    acme = gstore.create_tenant("acme").tenant_id
    at = START - 40 * DAY
    old = _decide(gstore, clock, make, acme, at)
    gstore.learning.log_choice(
        LoggedChoice(
            tenant_id=TenantId(acme), decision_id=old, decided_at=at, due_at=at + DAY, mode="live",
            model_version="v0", arms=("chat/plain",), chosen="chat/plain", propensity=1.0,
            rules_arm="chat/plain", greedy_arm="chat/plain", features={"intent": "billing"},
        )
    )  # fmt: skip
    clock.now = START
    retention.set_retention(gstore, acme, "decisions", 30, by="alice")
    counts = {(c.kind, c.table): c.deleted for c in retention.purge(gstore, acme, now=START, by="alice")}
    assert counts[("decisions", "learning_events")] == 1 and counts[("decisions", "decisions")] == 1
    assert _count(gstore, learning_events, acme) == 0 and _count(gstore, decisions, acme) == 0
