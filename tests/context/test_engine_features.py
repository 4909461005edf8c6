"""The features through the engine: recorded per decision (point in time), stale values visible in
the explanation, the fatigue cap counting from the feature store, minimised events, and rebuild ==
incremental on the demo data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tactful.context import load_context
from tactful.demo import DEMO_CUSTOMERS, ReplayClock, load_messages, replay, seed
from tactful.domain import ActionType, Channel, CustomerId, Outcome, OutcomeType, TenantId, new_id
from tactful.engine import Engine, EngineParts
from tactful.store import SqlStore, open_store
from tactful.store.schema import events, feature_state
from tactful.tenants import NewTenant
from tests.conftest import MessageFactory, put_customer
from tests.context.builders import decision as decision_event
from tests.context.conftest import MovableClock

ANGRY = "THIS IS RIDICULOUS!!! I have been charged THREE times and nobody answers. Absolutely furious."


def stored_events(store: SqlStore) -> list[dict[str, Any]]:
    with store._db.read() as conn:
        rows = conn.execute(select(events.c.type, events.c.payload).order_by(events.c.occurred_at)).all()
    return [{"type": r.type, **json.loads(r.payload)} for r in rows]


def test_a_decision_records_the_features_it_used_with_their_version(
    engine: Engine, message: MessageFactory, clock: MovableClock
) -> None:
    first = engine.decide(message("My parcel is late and I am really annoyed about it"))
    assert first.features["definitions"].startswith("default+") and first.features["version"] == 0
    assert first.features["values"]["inbound_contacts_24h"]["value"] == 0  # before this message
    clock.now += timedelta(minutes=10)
    second = engine.decide(message("Any news? Still waiting."))
    values = second.features["values"]
    assert values["inbound_contacts_24h"]["value"] == 1
    assert values["inbound_contacts_24h"]["as_of"] == first.decided_at.isoformat()
    assert values["sentiment_ewma"]["value"] < 0  # the first message was negative
    assert values["last_channel_used"]["value"] == "chat"
    # The policy saw the same values the decision stored.
    assert second.features["read_at"] == second.decided_at.isoformat()


def test_a_stale_feature_is_never_used_as_fresh(
    engine: Engine, message: MessageFactory, clock: MovableClock
) -> None:
    engine.decide(message("This is awful, I am so disappointed"))
    clock.now += timedelta(days=15)  # sentiment_ewma's TTL is 14 days
    later = engine.decide(message("Hello again"))
    used = later.features["values"]["sentiment_ewma"]
    assert used["stale"] is True and used["value"] == 0.0  # the default, not the old negative mean
    assert any(note.startswith("feature sentiment_ewma is stale") for note in later.explanation.notes)
    assert later.degraded and "context: feature sentiment_ewma stale; default used" in later.degradations


def test_the_fatigue_cap_counts_from_the_feature_store(
    engine: Engine, message: MessageFactory, store: SqlStore, tenant: NewTenant, clock: MovableClock
) -> None:
    tid = tenant.tenant.tenant_id
    put_customer(store, tid, "c-fat", profile={"tier": "vip"})
    cap = engine.policies.get(TenantId(tid)).fatigue_cap
    # Proactive contacts known only as events (say, from another system): no decision rows at all.
    contacts = [
        replace(
            decision_event(f"ext{i}", clock.now - timedelta(hours=i + 1), proactive=True),
            tenant_id=tid,
            customer_id="c-fat",
        )
        for i in range(cap)
    ]
    store.features.ingest(contacts)
    assert (
        store.count_proactive_since(TenantId(tid), CustomerId("c-fat"), clock.now - timedelta(hours=24)) == 0
    )
    d = engine.decide(message(ANGRY, customer="c-fat"))
    assert d.action.type is not ActionType.OFFER_CALLBACK
    assert "guardrail.fatigue_cap" in d.explanation.rules_fired
    assert d.features["values"]["proactive_contacts_24h"]["value"] == cap
    clock.now += timedelta(hours=25)  # the window passed: a call back can be offered again
    assert engine.decide(message(ANGRY, customer="c-fat")).action.type is ActionType.OFFER_CALLBACK


def test_inbound_messages_are_stored_as_events_without_text(
    engine: Engine, message: MessageFactory, store: SqlStore, tenant: NewTenant
) -> None:
    tid = tenant.tenant.tenant_id
    put_customer(store, tid, "c-off", preferences={"personalisation": "off"})
    engine.decide(message("My card 4111 1111 1111 1111 was charged twice", customer="cust-1"))
    off = engine.decide(message("I am furious about this", customer="c-off", conversation="conv-2"))
    got = stored_events(store)
    received = [e for e in got if e["type"] == "message.received"]
    assert [sorted(e) for e in received] == [
        ["channel", "conversation_id", "intent", "sentiment", "type", "valence"],
        ["channel", "conversation_id", "type"],  # personalisation off: no signals kept either
    ]
    assert "4111" not in json.dumps(got) and "furious" not in json.dumps(got)
    assert off.features["personal"] is False and set(off.features["values"]) == {
        "proactive_contacts_24h",
        "proactive_contacts_7d",
    }


def test_outcomes_reach_the_features_through_the_bus(
    engine: Engine, message: MessageFactory, store: SqlStore, tenant: NewTenant, clock: MovableClock
) -> None:
    d = engine.decide(message("thanks for the help"))
    clock.now += timedelta(minutes=5)
    for kind, value in ((OutcomeType.REPLIED, None), (OutcomeType.CSAT, 5.0), (OutcomeType.RESOLVED, None)):
        engine.record_outcome(
            Outcome(
                event_id=new_id("out"),
                tenant_id=d.tenant_id,
                decision_id=d.decision_id,
                type=kind,
                value=value,
                occurred_at=clock.now,
            )
        )
    ctx = load_context(store.features, d.tenant_id, d.customer_id, clock.now)
    assert ctx.features["last_csat"] == 5.0
    assert ctx.features["last_channel_answered"] == Channel.CHAT.value
    assert ctx.features["response_rate_by_channel"] == {"chat": 1.0}
    assert ctx.features["open_conversations"] == 0


def test_rebuild_equals_incremental_on_the_demo_data(tmp_path: Path) -> None:
    """The demo's replay (real customer messages, eight customers, every personalisation level),
    plus outcomes, compared value by value: the stored state and every feature read at the end."""
    clock = ReplayClock()
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    engine = Engine(EngineParts(store, clock=clock, vault=None))
    try:
        tenant_id, _ = seed(engine)
        messages, _ = load_messages(None)
        decided = [d for _, _, d in replay(engine, clock, tenant_id, messages[:160])]
        for i, d in enumerate(decided[::3]):
            kind = (OutcomeType.REPLIED, OutcomeType.CSAT, OutcomeType.RESOLVED, OutcomeType.ESCALATED)[i % 4]
            engine.record_outcome(
                Outcome(
                    event_id=new_id("out"),
                    tenant_id=tenant_id,
                    decision_id=d.decision_id,
                    type=kind,
                    value=float(1 + i % 5) if kind is OutcomeType.CSAT else None,
                    occurred_at=d.decided_at + timedelta(minutes=30),
                )
            )
        end = max(d.decided_at for d in decided) + timedelta(hours=1)

        def snapshot() -> tuple[list[Any], dict[str, Any]]:
            with store._db.read() as conn:
                rows = conn.execute(
                    select(
                        feature_state.c.customer_id,
                        feature_state.c.consent_state,
                        feature_state.c.personal_state,
                    ).order_by(feature_state.c.customer_id)
                ).all()
            states = [(r[0], json.loads(r[1]), r[2] and json.loads(r[2])) for r in rows]
            reads = {
                c.customer_id: {
                    name: (v.value, v.as_of, v.stale, v.missing)
                    for name, v in store.features.read_for_decision(tenant_id, c.customer_id, end)[
                        1
                    ].values.items()
                }
                for c in DEMO_CUSTOMERS
            }
            return states, reads

        incremental = snapshot()
        report = store.features.rebuild(tenant_id)
        assert report.events == len(stored_events(store)) >= 2 * len(decided)
        rebuilt = snapshot()
        assert len(incremental[0]) == len(DEMO_CUSTOMERS)
        for (cid, consent, personal), (cid2, consent2, personal2) in zip(
            incremental[0], rebuilt[0], strict=True
        ):
            assert (cid, consent, personal) == (cid2, consent2, personal2), cid
        for customer, values in incremental[1].items():
            for name, value in values.items():
                assert rebuilt[1][customer][name] == value, (customer, name)
        assert any(v[0] not in (0, None, {}) for vals in incremental[1].values() for v in vals.values())
    finally:
        engine.close()
