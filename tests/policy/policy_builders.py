"""Builders for policy tests: a PolicyInput from a few keyword arguments, and the default policy."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    CustomerProfile,
    EventId,
    InboundMessage,
    PiiFinding,
    Preferences,
    Signals,
    TenantId,
)
from tactful.policy import CompiledPolicy, PolicyInput, load_policy

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"
NOON_UTC = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday, outside any default quiet hours in UTC


@cache
def default_policy() -> CompiledPolicy:
    return load_policy(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"), source_name="policies/default.yaml")


def make_input(
    *,
    channel: Channel = Channel.CHAT,
    text: str = "hello, my order has not arrived",
    signals: Signals | None = None,
    preferences: Preferences | None = None,
    profile: CustomerProfile | None = CustomerProfile(),
    features: dict[str, Any] | None = None,
    now: datetime = NOON_UTC,
    **signal_fields: Any,
) -> PolicyInput:
    if signals is None:
        # Confident intent by default so the clarify rule stays out of unrelated cases.
        signal_fields.setdefault("intent_confidence", 0.9)
        signals = Signals(**signal_fields)
    message = InboundMessage(
        event_id=EventId("evt_1"),
        tenant_id=TenantId("acme"),
        customer_id=CustomerId("cus_1"),
        conversation_id=ConversationId("conv_1"),
        channel=channel,
        text=text,
        sent_at=now if now.tzinfo is not None else now.replace(tzinfo=UTC),
    )
    return PolicyInput(
        message=message,
        signals=signals,
        preferences=preferences if preferences is not None else Preferences(),
        profile=profile,
        features=features if features is not None else {},
        now=now,
    )


def pii(*kinds: str) -> tuple[PiiFinding, ...]:
    return tuple(PiiFinding(kind=k, token=f"<{k.upper()}_{i}>") for i, k in enumerate(kinds, 1))


def policy_yaml(rules: str = "", **sections: str) -> str:
    """A minimal valid policy with the given rules block (YAML list items, already indented)."""
    head = "schema_version: 1\n" + "".join(f"{k}:\n{v}\n" for k, v in sections.items())
    return head + ("rules:\n" + rules if rules else "")
