"""``SqlLearningStore`` contract, on SQLite and PostgreSQL: logged choices, windows, snapshots, modes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tactful.domain import DecisionId, EventId, Outcome, OutcomeType, TenantId
from tactful.errors import Conflict
from tactful.learn.store import LoggedChoice
from tactful.store import SqlStore
from tests.store.conftest import EPOCH, DecisionFactory


def _choice(tenant: str, decision: str, *, due_hours: float = 24) -> LoggedChoice:
    return LoggedChoice(
        tenant_id=TenantId(tenant),
        decision_id=DecisionId(decision),
        decided_at=EPOCH,
        due_at=EPOCH + timedelta(hours=due_hours),
        mode="live",
        model_version="vw-s0+0",
        arms=("chat/as_policy", "sms/warmer"),
        chosen="sms/warmer",
        propensity=0.4,
        rules_arm="chat/as_policy",
        greedy_arm="sms/warmer",
        features={"in": "chat", "intent": "billing"},
    )


def test_log_read_close(store: SqlStore, make_decision: DecisionFactory) -> None:
    tenant = store.create_tenant("acme").tenant_id
    decision = make_decision(tenant)
    store.record_decision(decision, {})
    logged = _choice(tenant, decision.decision_id)
    store.learning.log_choice(logged)
    store.learning.log_choice(logged)  # idempotent
    assert store.learning.get_choice(TenantId(tenant), decision.decision_id) == logged

    assert store.learning.due_choices(EPOCH + timedelta(hours=23), 10) == []
    due = store.learning.due_choices(EPOCH + timedelta(hours=25), 10)
    assert [c.decision_id for c in due] == [decision.decision_id]

    store.record_outcome(
        Outcome(
            event_id=EventId("o1"),
            tenant_id=TenantId(tenant),
            decision_id=decision.decision_id,
            type=OutcomeType.CSAT,
            value=4,
            occurred_at=EPOCH + timedelta(hours=1),
        )
    )
    facts = store.learning.outcome_facts(TenantId(tenant), decision.decision_id)
    assert [(f.type, f.value) for f in facts] == [(OutcomeType.CSAT, 4)]

    now = EPOCH + timedelta(hours=25)
    assert store.learning.close_choice(TenantId(tenant), decision.decision_id, 0.25, now)
    assert not store.learning.close_choice(TenantId(tenant), decision.decision_id, 0.25, now)  # once only
    closed = store.learning.get_choice(TenantId(tenant), decision.decision_id)
    assert closed == replace(logged, closed=True, reward=0.25, closed_at=closed.closed_at if closed else None)
    assert store.learning.due_choices(now, 10) == []
    assert store.learning.choices(TenantId(tenant), closed_only=True)[0].reward == 0.25


def test_everything_is_tenant_scoped(store: SqlStore, make_decision: DecisionFactory) -> None:
    a = store.create_tenant("a").tenant_id
    b = store.create_tenant("b").tenant_id
    decision = make_decision(a)
    store.record_decision(decision, {})
    store.learning.log_choice(_choice(a, decision.decision_id))
    assert store.learning.get_choice(TenantId(b), decision.decision_id) is None
    assert store.learning.choices(TenantId(b)) == []
    assert not store.learning.close_choice(TenantId(b), decision.decision_id, 1.0, EPOCH)
    with pytest.raises(Conflict):  # no such decision for tenant b: the foreign key refuses it
        store.learning.log_choice(_choice(b, decision.decision_id))
    store.learning.save_snapshot(TenantId(a), b"model-a", "--squarecb", 3, "x", EPOCH)
    assert store.learning.get_snapshot(TenantId(b)) is None
    store.learning.set_mode(TenantId(a), "live", EPOCH)
    assert store.learning.get_mode(TenantId(b)) is None


def test_snapshots_and_modes(store: SqlStore) -> None:
    tenant = TenantId(store.create_tenant("acme").tenant_id)
    assert store.learning.get_snapshot(tenant) is None
    first = store.learning.save_snapshot(tenant, b"\x00one", "--squarecb", 10, "periodic", EPOCH)
    second = store.learning.save_snapshot(tenant, b"\x00two", "--squarecb", 20, "on demand", EPOCH)
    assert (first.version, second.version) == (1, 2)
    newest = store.learning.get_snapshot(tenant)
    assert newest is not None and newest.model == b"\x00two" and newest.learned == 20
    older = store.learning.get_snapshot(tenant, 1)
    assert older is not None and older.model == b"\x00one"
    assert [s.version for s in store.learning.list_snapshots(tenant)] == [2, 1]

    assert store.learning.get_mode(tenant) is None
    store.learning.set_mode(tenant, "shadow", EPOCH)
    store.learning.set_mode(tenant, "live", EPOCH)
    assert store.learning.get_mode(tenant) == "live"
    store.learning.set_mode(tenant, None, EPOCH)
    assert store.learning.get_mode(tenant) is None


def test_partial_rewards_are_due_at_the_early_horizon_and_set_once(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    tenant = TenantId(store.create_tenant("acme").tenant_id)
    early, late, none = (make_decision(tenant) for _ in range(3))
    for d in (early, late, none):
        store.record_decision(d, {})
    store.learning.log_choice(
        replace(_choice(tenant, early.decision_id), early_due_at=EPOCH + timedelta(hours=3))
    )
    store.learning.log_choice(
        replace(_choice(tenant, late.decision_id), early_due_at=EPOCH + timedelta(hours=5))
    )
    store.learning.log_choice(_choice(tenant, none.decision_id))  # no early estimate

    assert store.learning.early_due_choices(EPOCH + timedelta(hours=2), 10) == []
    due = store.learning.early_due_choices(EPOCH + timedelta(hours=6), 10)
    assert [c.decision_id for c in due] == [early.decision_id, late.decision_id]  # oldest first
    assert [c.decision_id for c in store.learning.early_due_choices(EPOCH + timedelta(hours=6), 1)] == [
        early.decision_id
    ]

    assert store.learning.set_partial(tenant, early.decision_id, 0.2)
    assert not store.learning.set_partial(tenant, early.decision_id, 0.7)  # once only
    got = store.learning.get_choice(tenant, early.decision_id)
    assert got is not None and got.partial_reward == pytest.approx(0.2)
    assert [c.decision_id for c in store.learning.early_due_choices(EPOCH + timedelta(hours=6), 10)] == [
        late.decision_id
    ]
    # A choice whose window closed first gets no partial reward any more, and is no longer due.
    assert store.learning.close_choice(tenant, late.decision_id, 1.0, EPOCH + timedelta(hours=25))
    assert not store.learning.set_partial(tenant, late.decision_id, 0.2)
    assert store.learning.early_due_choices(EPOCH + timedelta(hours=30), 10) == []
