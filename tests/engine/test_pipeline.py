"""The engine end to end on SQLite: shape, idempotency, consent, degradation, events, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tactful.bus import InProcessBus
from tactful.domain import ActionType, Channel, Envelope, Outcome, OutcomeType, Signals, new_id
from tactful.engine import Engine, EngineParts
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.conftest import FixedClock, MessageFactory, put_customer

PUBLIC_FIELDS = [
    ("decision_id",),
    ("tone", "formality"),
    ("tone", "warmth"),
    ("tone", "empathy"),
    ("tone", "brevity"),
    ("tone", "directness"),
    ("tone", "style"),
    ("channel", "primary"),
    ("channel", "fallbacks"),
    ("action", "type"),
    ("reply", "text"),
    ("explanation", "rules_fired"),
    ("explanation", "signals"),
    ("policy_version",),
    ("model_versions",),
    ("latency_ms",),
    ("degraded",),
]


def test_decision_has_the_public_shape(engine: Engine, message: MessageFactory) -> None:
    decision = engine.decide(message("I was charged twice for my order. Please refund it, thanks."))
    doc = json.loads(decision.model_dump_json())
    for path in PUBLIC_FIELDS:
        node = doc
        for part in path:
            assert part in node, f"missing {'.'.join(path)}"
            node = node[part]
    for attr in ("formality", "warmth", "empathy", "brevity", "directness"):
        assert isinstance(doc["tone"][attr], float) and 0 <= doc["tone"][attr] <= 1
    assert doc["reply"]["text"].strip()
    assert doc["policy_version"].startswith("v1+")
    assert doc["degraded"] is False
    assert set(doc["latency_ms"]) >= {"guard", "signals", "context", "policy", "learner", "render", "total"}
    assert "lexicon" in doc["model_versions"]


def test_resending_an_event_id_returns_the_original_and_has_no_second_side_effect(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    bus = engine.bus
    assert isinstance(bus, InProcessBus)
    seen: list[str] = []
    bus.subscribe("decision.made", lambda e: seen.append(e.event_id), group="test")
    first = engine.decide(message("where is my parcel?", event_id="evt-42"))
    again = engine.decide(message("where is my parcel?", event_id="evt-42"))
    assert again == first
    # The same id with other content is not a retry: 409 idempotency_conflict (issue 11), no effect.
    with pytest.raises(Conflict) as conflict:
        engine.decide(message("a different text with the same id", event_id="evt-42"))
    assert conflict.value.code == "idempotency_conflict"
    entries = store.audit.entries(tenant.tenant.tenant_id)
    assert [e.kind for e in entries].count("decision") == 1
    assert len(seen) == 1


def test_opt_out_takes_effect_on_the_very_next_decision(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    tid = tenant.tenant.tenant_id
    before = engine.decide(message("my bill is wrong", channel=Channel.SMS, customer="c-opt"))
    assert before.channel.primary is Channel.SMS
    put_customer(store, tid, "c-opt", preferences={"opted_out": ["sms"]})
    after = engine.decide(message("my bill is wrong", channel=Channel.SMS, customer="c-opt"))
    assert after.channel.primary is not Channel.SMS
    assert Channel.SMS not in after.channel.fallbacks
    assert any(c.channel is Channel.SMS for c in after.channel.removed)


def test_do_not_contact_means_no_contact(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    put_customer(store, tenant.tenant.tenant_id, "c-dnc", preferences={"do_not_contact": True})
    d = engine.decide(message("hello?", customer="c-dnc"))
    assert d.action.type is ActionType.NO_CONTACT
    assert d.channel.primary is None and d.channel.fallbacks == ()
    assert d.reply.text == ""


def test_pii_in_a_public_post_is_answered_privately_and_never_repeated(
    engine: Engine, message: MessageFactory
) -> None:
    d = engine.decide(
        message("@Acme my card was charged twice, email me at jo.bloggs@example.com", channel=Channel.SOCIAL)
    )
    assert d.channel.primary is not Channel.SOCIAL
    assert Channel.SOCIAL not in d.channel.fallbacks
    assert "jo.bloggs@example.com" not in d.model_dump_json()
    assert d.explanation.signals["pii"] == ["email"]


def test_personalisation_off_gives_the_neutral_tone_and_says_so(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    tid = tenant.tenant.tenant_id
    put_customer(store, tid, "c-off", profile={"tier": "vip"}, preferences={"personalisation": "off"})
    d = engine.decide(
        message("THIS IS THE THIRD TIME!!! my refund is STILL missing, useless", customer="c-off")
    )
    neutral = engine.policies.get(tid).neutral_tone
    assert d.tone.attributes() == neutral.attributes()
    assert any("personalisation off" in note for note in d.explanation.notes)
    assert d.action.type not in (ActionType.HANDOFF_HUMAN, ActionType.OFFER_CALLBACK) or not any(
        "vip" in r for r in d.explanation.rules_fired
    )


class BrokenTier:
    name = "broken"
    version = "broken-0"

    def extract(self, text: str) -> Signals:
        raise RuntimeError("model file missing")


def test_a_failing_signal_tier_degrades_visibly(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = Engine(EngineParts(store, clock=clock, tier=BrokenTier()))
    d = engine.decide(message("where is my order"))
    assert d.degraded is True
    assert any("signals" in reason for reason in d.degradations)
    assert d.reply.text  # it still answers


def test_bad_input_is_rejected_and_stores_nothing(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    before = store.audit.entries(tenant.tenant.tenant_id)
    with pytest.raises(InputRejected) as exc:
        engine.decide(message("x" * 100_000, event_id="evt-big"))
    assert exc.value.code == "text_too_long"
    assert store.audit.entries(tenant.tenant.tenant_id) == before
    assert store.get_decision_by_event(tenant.tenant.tenant_id, "evt-big") is None  # type: ignore[arg-type]


def test_events_flow_from_message_received_to_decision_made(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant, clock: FixedClock
) -> None:
    made: list[Envelope] = []
    engine.bus.subscribe("decision.made", made.append, group="test")
    engine.listen()
    msg = message("my internet is down", event_id="evt-bus-1")
    envelope = Envelope(
        event_id=msg.event_id,
        type="message.received",
        tenant_id=msg.tenant_id,
        key=msg.conversation_id,
        occurred_at=clock.now,
        payload=msg.model_dump(mode="json"),
    )
    engine.bus.publish(envelope)
    engine.bus.publish(envelope)  # at-least-once: the same event delivered twice
    assert len(made) == 1
    assert made[0].payload["event_id"] == "evt-bus-1"
    assert store.get_decision_by_event(tenant.tenant.tenant_id, msg.event_id) is not None


def test_outcomes_are_recorded_once_and_only_for_the_tenants_own_decisions(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant, clock: FixedClock
) -> None:
    from tactful.tenants import create_tenant

    d = engine.decide(message("thanks, that fixed it"))
    outcome = Outcome(
        event_id=new_id("evt"),
        tenant_id=d.tenant_id,
        decision_id=d.decision_id,
        type=OutcomeType.CSAT,
        value=5,
        occurred_at=clock.now,
    )
    assert engine.record_outcome(outcome)[1] is True
    assert engine.record_outcome(outcome)[1] is False
    other = create_tenant(store, "other")
    with pytest.raises(NotFound):
        engine.record_outcome(
            outcome.model_copy(update={"tenant_id": other.tenant.tenant_id, "event_id": new_id("evt")})
        )
    with pytest.raises(InputRejected):
        engine.record_outcome(outcome.model_copy(update={"value": 7, "event_id": new_id("evt")}))


def test_fatigue_cap_counts_proactive_contacts_in_the_last_24_hours(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant, clock: FixedClock
) -> None:
    tid = tenant.tenant.tenant_id
    cap = engine.policies.get(tid).fatigue_cap
    assert cap >= 1
    # An angry VIP writing on chat is offered a call back: a proactive contact on another channel.
    put_customer(store, tid, "c-fat", profile={"tier": "vip"})
    angry = "THIS IS RIDICULOUS!!! I have been charged THREE times and nobody answers. Absolutely furious."
    actions = []
    for _ in range(cap + 2):
        clock.now += timedelta(minutes=5)
        d = engine.decide(message(angry, customer="c-fat"))
        actions.append(d.action.type)
        assert d.proactive == (d.action.type is ActionType.OFFER_CALLBACK)
    assert actions == [ActionType.OFFER_CALLBACK] * cap + [ActionType.HANDOFF_HUMAN] * 2
    assert "guardrail.fatigue_cap" in d.explanation.rules_fired
    since = clock.now - timedelta(hours=24)
    assert store.count_proactive_since(tid, "c-fat", since) == cap  # type: ignore[arg-type]
    clock.now += timedelta(hours=25)  # the window has passed: a call back can be offered again
    assert engine.decide(message(angry, customer="c-fat")).action.type is ActionType.OFFER_CALLBACK


def test_audit_chain_verifies_after_decisions(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    for i in range(5):
        engine.decide(message(f"question number {i} about my refund"))
    results = store.audit.verify(tenant.tenant.tenant_id)
    assert len(results) == 1 and results[0].ok and results[0].checked >= 5
    entry = store.audit.entries(tenant.tenant.tenant_id)[-1]
    assert "refund" not in json.dumps(entry.payload["snapshot"])  # minimised: no message text kept


def test_decision_time_is_the_injected_clock(
    engine: Engine, message: MessageFactory, clock: FixedClock
) -> None:
    clock.now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert engine.decide(message("hi")).decided_at == clock.now


@pytest.mark.parametrize(
    ("casual", "formal"),
    [
        (
            "hey my parcel still aint here lol, wheres it at??",
            "Dear team, I would be grateful if you could advise on the status of my parcel. Kind regards.",
        ),
        (
            "thx u guys r gr8 but the app keeps crashing :(",
            "Good afternoon. I wish to report that the "
            "application closes unexpectedly on start-up. Sincerely.",
        ),
    ],
)
def test_reply_formality_follows_the_customers_style_within_brand_bounds(
    engine: Engine, message: MessageFactory, tenant: NewTenant, casual: str, formal: str
) -> None:
    low = engine.decide(message(casual, customer="c-style-1"))
    high = engine.decide(message(formal, customer="c-style-2"))
    assert low.explanation.signals["formality"] < high.explanation.signals["formality"]  # type: ignore[operator]
    assert low.tone.formality < high.tone.formality
    lo, hi = engine.policies.get(tenant.tenant.tenant_id).document.brand.bounds["formality"]
    assert lo <= low.tone.formality <= hi and lo <= high.tone.formality <= hi
    assert "mirror-formality" in low.explanation.rules_fired
