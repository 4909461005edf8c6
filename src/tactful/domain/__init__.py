"""Immutable domain types. Nothing here does I/O or imports a backend."""

from tactful.domain.channels import (
    INTRUSIVE_CHANNELS,
    PRIVATE_COUNTERPART,
    PUBLIC_CHANNELS,
    Channel,
    continues_conversation,
)
from tactful.domain.customer import (
    Customer,
    CustomerProfile,
    PersonalisationIntensity,
    Preferences,
    QuietHours,
    Tier,
)
from tactful.domain.decision import (
    Action,
    ActionType,
    ChannelChoice,
    ChannelConstraint,
    Decision,
    Explanation,
    Reply,
)
from tactful.domain.events import Envelope
from tactful.domain.ids import ConversationId, CustomerId, DecisionId, EventId, TenantId, new_id
from tactful.domain.intents import CLEAR_SUPPORT_INTENTS, Risk, SupportIntent
from tactful.domain.message import InboundMessage
from tactful.domain.outcome import Outcome, OutcomeType
from tactful.domain.signals import PiiFinding, SentimentLabel, Signals
from tactful.domain.tone import TONE_ATTRIBUTES, MeasuredTone, ToneAttribute, ToneProfile

__all__ = [
    "CLEAR_SUPPORT_INTENTS",
    "INTRUSIVE_CHANNELS",
    "PRIVATE_COUNTERPART",
    "PUBLIC_CHANNELS",
    "TONE_ATTRIBUTES",
    "Action",
    "ActionType",
    "Channel",
    "ChannelChoice",
    "ChannelConstraint",
    "ConversationId",
    "Customer",
    "CustomerId",
    "CustomerProfile",
    "Decision",
    "DecisionId",
    "Envelope",
    "EventId",
    "Explanation",
    "InboundMessage",
    "MeasuredTone",
    "Outcome",
    "OutcomeType",
    "PersonalisationIntensity",
    "PiiFinding",
    "Preferences",
    "QuietHours",
    "Reply",
    "Risk",
    "SentimentLabel",
    "Signals",
    "SupportIntent",
    "TenantId",
    "Tier",
    "ToneAttribute",
    "ToneProfile",
    "continues_conversation",
    "new_id",
]
