"""The decision: tone, channel, action, the rendered reply, and why."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from tactful.domain.channels import Channel
from tactful.domain.ids import ConversationId, CustomerId, DecisionId, EventId, TenantId
from tactful.domain.tone import ToneProfile


class ActionType(StrEnum):
    REPLY = "reply"
    CLARIFY = "clarify"
    HANDOFF_HUMAN = "handoff_human"
    ESCALATE = "escalate"
    OFFER_CALLBACK = "offer_callback"
    SWITCH_CHANNEL = "switch_channel"
    NO_CONTACT = "no_contact"


class ChannelConstraint(BaseModel):
    """Why a channel was removed from the candidates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    rule_id: str
    reason: str


class ChannelChoice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: Channel | None  # None only with action no_contact
    fallbacks: tuple[Channel, ...] = ()
    removed: tuple[ChannelConstraint, ...] = ()


class Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ActionType
    reason: str = ""
    rule_id: str | None = None


class Reply(BaseModel):
    """The rendered reply, already fitted to its channel's constraints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel | None
    text: str
    subject: str | None = None  # email
    ssml: str | None = None  # voice
    segments: tuple[str, ...] = ()  # sms: the text split into segments as sent
    encoding: str | None = None  # sms: "GSM-7" or "UCS-2"
    template_id: str = ""
    template_version: str = ""
    truncated: bool = False
    #: The language the reply is written in (ISO 639-1, e.g. "es"); absent from the JSON when unset,
    #: so replies stored before it existed serialise byte for byte as they were.
    language: str | None = None

    @model_serializer(mode="wrap")
    def _omit_unset_language(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.language is None:
            data.pop("language", None)
        return data


class Explanation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rules_fired: tuple[str, ...] = ()
    signals: dict[str, object] = Field(default_factory=dict)  # the top signals, name → value
    notes: tuple[str, ...] = ()  # plain-language lines, e.g. "personalisation off: neutral tone"
    #: Knowledge passages a generated reply was grounded on ("source#chunk", issue 14); absent
    #: from the JSON when empty, so explanations stored before it existed serialise as they were.
    sources: tuple[str, ...] = ()

    @model_serializer(mode="wrap")
    def _omit_empty_sources(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.sources:
            data.pop("sources", None)
        return data


class LearnerTrace(BaseModel):
    """What the learner did for this decision, kept so off-policy evaluation can read it back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: str  # "shadow" (the rules decided) | "live" (the bandit chose among the allowed arms)
    model_version: str
    arm: str  # the arm the decision uses, "channel/style"
    propensity: float = Field(gt=0, le=1)  # of ``arm``, after masking (1 in shadow: rules are deterministic)
    allowed: tuple[str, ...]  # every arm the policy left
    would_choose: str  # the bandit's greedy arm (in shadow: what it would have chosen)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: DecisionId
    tenant_id: TenantId
    event_id: EventId
    customer_id: CustomerId
    conversation_id: ConversationId
    inbound_channel: Channel
    tone: ToneProfile
    channel: ChannelChoice
    action: Action
    reply: Reply
    explanation: Explanation
    policy_version: str
    model_versions: dict[str, str]
    latency_ms: dict[str, float]  # per stage and "total"
    degraded: bool = False  # True when any stage ran in a reduced mode; ``degradations`` says which and why
    degradations: tuple[str, ...] = ()
    proactive: bool = False  # the decision initiates contact on a channel the customer is not using
    decided_at: AwareDatetime
    learner: LearnerTrace | None = None  # None when learning is off for the tenant
    #: Point in time (issue 6): the exact feature values the decision used, each with the event time
    #: it reflects and when it was computed, plus the definition version — what replay and
    #: off-policy evaluation must see, never later values.
    features: dict[str, Any] = Field(default_factory=dict)
    #: The experiment (issue 15) this decision was made in and its arm (``control`` | ``candidate``);
    #: None outside any experiment.
    experiment: str | None = None
    arm: str | None = None
    #: A keyed hash of the inbound message (text, customer, conversation, channel) under the audit
    #: key: a re-sent event id with other content is told apart from a retry (409
    #: ``idempotency_conflict``) without the text being stored. None on decisions made before.
    input_fingerprint: str | None = None

    @model_validator(mode="after")
    def _degraded_matches(self) -> Decision:
        if self.degraded != bool(self.degradations):
            raise ValueError("degraded must be true exactly when degradations are listed")
        return self

    @property
    def decided_at_utc(self) -> datetime:
        return self.decided_at
