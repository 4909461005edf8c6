"""What the signal extractors found in a message."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

Unit = float  # a score in [0, 1]


class SentimentLabel(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class PiiFinding(BaseModel):
    """A piece of personal data found in the text, already replaced by ``token``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # email, phone, card, iban, ...
    token: str  # the placeholder that now stands in the text, e.g. "<EMAIL_1>"


class Signals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    language: str = "en"
    language_confidence: Unit = Field(default=0.0, ge=0, le=1)
    sentiment: SentimentLabel = SentimentLabel.NEUTRAL
    valence: float = Field(default=0.0, ge=-1, le=1)  # -1 very negative … +1 very positive
    emotions: dict[str, Unit] = Field(default_factory=dict)  # anger, frustration, gratitude, confusion, ...
    frustration: Unit = Field(default=0.0, ge=0, le=1)
    anger: Unit = Field(default=0.0, ge=0, le=1)
    urgency: Unit = Field(default=0.0, ge=0, le=1)
    formality: Unit = Field(default=0.5, ge=0, le=1)  # the customer's own writing style
    politeness: Unit = Field(default=0.5, ge=0, le=1)
    intent: str = "other"
    intent_confidence: Unit = Field(default=0.0, ge=0, le=1)
    injection: Unit = Field(default=0.0, ge=0, le=1)  # likelihood the text is a prompt-injection attempt
    # The customer asks for a person, in any phrasing ("agent", "let me speak to your manager", ...).
    wants_human: Unit = Field(default=0.0, ge=0, le=1)
    # Risk flags a human reader acts on at once (domain.intents.Risk values → probability): legal,
    # media or regulator threats, account takeover and fraud reports. Absent means 0.
    risks: dict[str, Unit] = Field(default_factory=dict)
    pii: tuple[PiiFinding, ...] = ()
    tier: str = "lexicon"  # which latency tier produced these
    model_versions: dict[str, str] = Field(default_factory=dict)
    # Calibrated probability that each model's reported value is right (model tiers; e.g. "sentiment",
    # "intent", "emotion", "injection", "language"). Empty for the lexicon tier.
    confidences: dict[str, Unit] = Field(default_factory=dict)

    @property
    def has_pii(self) -> bool:
        return bool(self.pii)
