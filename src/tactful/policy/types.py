"""What goes into a policy evaluation and what comes out. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tactful.domain import (
    Action,
    ChannelChoice,
    CustomerProfile,
    InboundMessage,
    Preferences,
    Signals,
    ToneProfile,
)


class PolicyInput(BaseModel):
    """Everything a policy may look at for one decision.

    ``profile`` is None when the customer's personalisation intensity is ``off``: the engine then
    never reads it (data minimisation), and rules that need it do not fire. ``preferences`` (consent)
    is always read: honouring consent is not personalisation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: InboundMessage
    signals: Signals
    preferences: Preferences
    profile: CustomerProfile | None
    features: dict[str, Any] = Field(default_factory=dict)  # e.g. proactive_contacts_24h
    now: datetime  # timezone-aware; injected so evaluation is deterministic


class PolicyResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tone: ToneProfile
    channel: ChannelChoice
    action: Action
    proactive: bool  # starts a contact: another channel than the conversation's, or a call back
    rules_fired: tuple[str, ...]
    notes: tuple[str, ...] = ()
    policy_version: str
