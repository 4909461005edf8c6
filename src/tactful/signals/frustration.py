"""Anger and frustration: lexicon cues plus the typography of an upset customer.

Frustration is about repetition and waiting ("again", "still", "for the third time") and grows
with complaint strength; anger needs hostile words, profanity or shouting, so a calm complaint
scores frustration but little anger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tactful.signals.cues import Cues
from tactful.signals.phrases import Hits, noisy_or
from tactful.signals.sentiment import Sentiment

ANGER: Final = "emotions.anger"
FRUSTRATION: Final = "emotions.frustration"
PROFANITY: Final = "style.profanity"


@dataclass(frozen=True)
class Upset:
    anger: float
    frustration: float


def upset_of(hits: Hits, cues: Cues, sentiment: Sentiment) -> Upset:
    negative = max(0.0, -sentiment.valence)
    profane = min(1, hits.count(PROFANITY)) * 0.5
    frustration = noisy_or(
        (
            hits.score(FRUSTRATION),
            cues.shouting * 0.8,
            cues.exclaiming,
            cues.puzzled,
            sentiment.complaint * 0.45,
            negative * 0.35,
            profane * 0.6,
        )
    )
    anger_words = hits.score(ANGER)
    anger = noisy_or(
        (
            anger_words,
            profane,
            cues.shouting,
            cues.exclaiming * 0.7,
            # a negative tone feeds anger only with something hostile in it
            negative * 0.35 if (anger_words or profane or cues.shouting) else negative * 0.1,
        )
    )
    return Upset(anger=anger, frustration=frustration)
