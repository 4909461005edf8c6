"""Rule-based intent: the intent whose cue words are strongest, with a confidence that shrinks when
a second intent is nearly as strong. "other" when nothing is strong enough. The labels are support
families of ``domain/intents.py``, as the model tiers answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tactful.signals.phrases import Hits, noisy_or

INTENTS: Final = (
    "billing",
    "refund",
    "cancellation",
    "order_status",
    "technical_issue",
    "account_access",
    "complaint",
    "thanks",
    "product_question",
)
OTHER: Final = "other"
_MIN_SCORE: Final = 0.35
# A complaint about a topic is first of all about the topic; complaint wins only on its own.
_COMPLAINT_DISCOUNT: Final = 0.8


@dataclass(frozen=True)
class IntentGuess:
    intent: str
    confidence: float
    scores: dict[str, float]


def intent_of(hits: Hits, complaint: float, questions: int) -> IntentGuess:
    scores = {intent: hits.score(f"intent_rules.{intent}") for intent in INTENTS}
    scores["complaint"] = noisy_or((scores["complaint"], complaint * 0.5)) * _COMPLAINT_DISCOUNT
    scores["thanks"] *= 1.0 - complaint  # "amazing, charged twice again" is not praise
    if questions:
        scores["product_question"] = noisy_or((scores["product_question"], 0.2))
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < _MIN_SCORE:
        return IntentGuess(OTHER, round(0.5 * (1.0 - top), 4), scores)
    confidence = top * (1.0 - 0.5 * second / top)
    return IntentGuess(best, round(confidence, 4), scores)
