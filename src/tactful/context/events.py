"""The events features are computed from, minimised to what the definitions need.

An inbound message is stored as an event WITHOUT its text: channel, conversation, time and the
signals a feature reads (valence, sentiment, intent) — and, when the customer's personalisation is
``off``, not even the signals. Decisions and outcomes keep only their ids, channel, action/type and
value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tactful.domain import Decision, InboundMessage, Outcome, Signals


@dataclass(frozen=True, slots=True)
class FeatureEvent:
    tenant_id: str
    event_id: str
    customer_id: str
    type: str  # "message.received" | "decision.made" | "outcome.recorded"
    occurred_at: datetime  # event time (UTC): the order features are computed in
    payload: dict[str, Any]
    t: float = field(init=False, repr=False, compare=False)  # occurred_at as a POSIX timestamp

    def __post_init__(self) -> None:
        # Computed once: folding reads it for every feature an event feeds.
        object.__setattr__(self, "t", self.occurred_at.timestamp())

    @property
    def order_key(self) -> tuple[float, str]:
        """Event-time order; the event id breaks ties so every replica sorts alike."""
        return (self.t, self.event_id)


def message_event(message: InboundMessage, signals: Signals, *, personal: bool) -> FeatureEvent:
    payload: dict[str, Any] = {
        "channel": message.channel.value,
        "conversation_id": message.conversation_id,
    }
    if personal:
        payload |= {
            "valence": round(signals.valence, 6),
            "sentiment": signals.sentiment.value,
            "intent": signals.intent,
        }
    return FeatureEvent(
        tenant_id=message.tenant_id,
        event_id=f"{message.event_id}.received",
        customer_id=message.customer_id,
        type="message.received",
        occurred_at=message.sent_at.astimezone(UTC),
        payload=payload,
    )


def decision_event(decision: Decision) -> FeatureEvent:
    return FeatureEvent(
        tenant_id=decision.tenant_id,
        # The same id the outbox gives the decision.made envelope, so bus redelivery dedupes.
        event_id=f"{decision.decision_id}.made",
        customer_id=decision.customer_id,
        type="decision.made",
        occurred_at=decision.decided_at.astimezone(UTC),
        payload={
            "decision_id": decision.decision_id,
            "conversation_id": decision.conversation_id,
            "channel": decision.channel.primary.value if decision.channel.primary else None,
            "inbound_channel": decision.inbound_channel.value,
            "proactive": decision.proactive,
            "action": decision.action.type.value,
        },
    )


def outcome_event(outcome: Outcome, decision: Decision) -> FeatureEvent:
    """An outcome, joined to its decision for the customer, conversation and channel it concerns."""
    return FeatureEvent(
        tenant_id=outcome.tenant_id,
        event_id=outcome.event_id,
        customer_id=decision.customer_id,
        type="outcome.recorded",
        occurred_at=outcome.occurred_at.astimezone(UTC),
        payload={
            "decision_id": outcome.decision_id,
            "conversation_id": decision.conversation_id,
            "channel": decision.channel.primary.value if decision.channel.primary else None,
            "type": outcome.type.value,
            "value": outcome.value,
        },
    )
