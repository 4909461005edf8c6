"""A week of a contact centre, written into a database for the browser tests and the screenshots in
docs/console/: two tenants, the demo's customers, a few hundred decisions on several channels with
outcomes, the learner in shadow mode, a second policy version and a canary of it. Messages are our
own, written for this; the randomness is seeded."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tactful.config import Settings
from tactful.demo import DEMO_CUSTOMERS
from tactful.domain import (
    Channel,
    ConversationId,
    Customer,
    CustomerId,
    EventId,
    InboundMessage,
    Outcome,
    OutcomeType,
    TenantId,
    new_id,
)
from tactful.engine import Engine
from tactful.learn.bandit import BanditLearner
from tactful.policy import content_hash
from tactful.policy.experiments import ExperimentSettings
from tactful.tenants import create_tenant, issue_key
from tests.console.conftest import candidate_source

MESSAGES = (
    "Hi, where is my order? It was due on Monday.",
    "This is the third time I am writing. I am furious, refund me now or I go to the press.",
    "Thanks a lot, that fixed it!",
    "My card was charged twice for the same order, please help",
    "Can I please talk to a human",
    "How do I change the delivery address on my order?",
    "The app crashes every time I open my account page",
    "I want to cancel my subscription",
    "STOP",
    "Is the blue model back in stock?",
)


@dataclass(frozen=True)
class Scenario:
    admin_key: str
    auditor_key: str
    other_admin_key: str
    decision_ids: list[str]
    experiment_id: str
    customer_id: str


class StepClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def build(db_url: str, *, decisions: int = 240, seed: int = 7) -> Scenario:
    rng = random.Random(seed)
    clock = StepClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=7))
    engine = Engine.from_settings(Settings(database_url=db_url), clock=clock)
    store = engine.store
    acme, globex = create_tenant(store, "acme"), create_tenant(store, "globex")
    tid = TenantId(acme.tenant.tenant_id)
    for c in DEMO_CUSTOMERS:
        store.put_customer(
            Customer(
                tenant_id=tid,
                customer_id=CustomerId(c.customer_id),
                profile=c.profile,
                preferences=c.preferences,
            )
        )
    assert isinstance(engine.learner, BanditLearner)
    engine.learner.set_mode(tid, "shadow")
    source = candidate_source()
    candidate = store.publish_policy(tid, source, content_hash(source), by="scenario")
    ids: list[str] = []
    experiment_id = ""
    step = timedelta(days=7) / decisions
    for i in range(decisions):
        if i == decisions // 2:
            assert engine.monitor is not None
            experiment_id = engine.monitor.start(
                tid, kind="canary", candidate_version=candidate.version, name="warmer billing replies",
                settings=ExperimentSettings(steps=(0.25, 0.5, 1.0), min_samples=50, min_samples_per_step=60),
                by="scenario",
            ).experiment_id  # fmt: skip
        clock.now += step
        customer = DEMO_CUSTOMERS[rng.randrange(len(DEMO_CUSTOMERS))]
        channel = (
            customer.channel if rng.random() < 0.7 else rng.choice([Channel.CHAT, Channel.EMAIL, Channel.SMS])
        )
        text = rng.choice(MESSAGES)
        if text == "STOP" and channel is not Channel.SMS:
            text = MESSAGES[0]
        decision = engine.decide(
            InboundMessage(
                event_id=EventId(new_id("evt")), tenant_id=tid, customer_id=CustomerId(customer.customer_id),
                conversation_id=ConversationId(f"conv-{i // 3}"), channel=channel, text=text,
                sent_at=clock.now,
            )
        )  # fmt: skip
        ids.append(decision.decision_id)
        if decision.channel.primary is None:
            continue
        outcomes: list[tuple[OutcomeType, float | None]] = [(OutcomeType.DELIVERED, None)]
        if rng.random() < 0.75:
            outcomes.append((OutcomeType.REPLIED, None))
            if rng.random() < (0.65 if decision.inbound_channel is Channel.CHAT else 0.45):
                outcomes += [(OutcomeType.RESOLVED, None), (OutcomeType.CSAT, float(rng.choice([4, 5, 5])))]
            else:
                outcomes.append((OutcomeType.CSAT, float(rng.choice([1, 2, 3]))))
        for kind, value in outcomes:
            engine.record_outcome(
                Outcome(
                    event_id=EventId(new_id("out")),
                    tenant_id=tid,
                    decision_id=decision.decision_id,
                    type=kind,
                    value=value,
                    occurred_at=clock.now + timedelta(minutes=5),
                )
            )
    engine.learner.close_due(clock.now + timedelta(days=2))
    auditor = issue_key(store, tid, "auditor")
    engine.close()
    return Scenario(acme.api_key, auditor, globex.api_key, ids, experiment_id, "cust-ava")
