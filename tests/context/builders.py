"""Small builders for feature events and definition sets used across the context tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tactful.context.aggregations import Plan
from tactful.context.definitions import FeatureDefinition, Level, default_definitions
from tactful.context.events import FeatureEvent

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def message(
    event_id: str, when: datetime, *, valence: float = 0.0, channel: str = "chat", conv: str = "cv1"
) -> FeatureEvent:
    payload = {
        "channel": channel,
        "conversation_id": conv,
        "valence": valence,
        "sentiment": "neutral",
        "intent": "other",
    }
    return FeatureEvent("t1", event_id, "c1", "message.received", when, payload)


def decision(
    event_id: str,
    when: datetime,
    *,
    proactive: bool = False,
    channel: str | None = "chat",
    action: str = "reply",
    conv: str = "cv1",
) -> FeatureEvent:
    payload: dict[str, Any] = {
        "decision_id": event_id,
        "conversation_id": conv,
        "channel": channel,
        "inbound_channel": "chat",
        "proactive": proactive,
        "action": action,
    }
    return FeatureEvent("t1", f"{event_id}.made", "c1", "decision.made", when, payload)


def outcome(
    event_id: str,
    when: datetime,
    decision_id: str,
    kind: str,
    *,
    value: float | None = None,
    channel: str = "chat",
    conv: str = "cv1",
) -> FeatureEvent:
    payload = {
        "decision_id": decision_id,
        "conversation_id": conv,
        "channel": channel,
        "type": kind,
        "value": value,
    }
    return FeatureEvent("t1", event_id, "c1", "outcome.recorded", when, payload)


def plan(*names: str) -> Plan:
    """A plan of the shipped definitions with these names (all of them when none is named)."""
    defs = default_definitions().features
    return Plan(d for d in defs if not names or d.name in names)


def all_levels() -> tuple[Plan, Plan]:
    defs = default_definitions()
    return defs.plan(Level.CONSENT), defs.plan(Level.PERSONAL)


def definition(**fields: Any) -> FeatureDefinition:
    return FeatureDefinition.model_validate(fields)
