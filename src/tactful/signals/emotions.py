"""The emotions that are not anger or frustration: gratitude, confusion, joy, sadness, fear, optimism."""

from __future__ import annotations

from typing import Final

from tactful.signals.cues import Cues
from tactful.signals.phrases import Hits, noisy_or
from tactful.signals.sentiment import Sentiment

EMOTIONS: Final = ("anger", "frustration", "gratitude", "confusion", "joy", "sadness", "fear", "optimism")


def emotions_of(hits: Hits, cues: Cues, sentiment: Sentiment, questions: int) -> dict[str, float]:
    positive = max(0.0, sentiment.valence)
    negative = max(0.0, -sentiment.valence)
    # Joy is not the politeness of a complaint: it fades as complaint strength grows.
    joy_lexicon = hits.score("emotions.joy") * (1.0 - sentiment.complaint)
    return {
        "gratitude": hits.score("emotions.gratitude"),
        "confusion": noisy_or(
            (hits.score("emotions.confusion"), cues.puzzled, 0.15 if questions >= 2 else 0.0)
        ),
        "joy": noisy_or((joy_lexicon, positive * 0.5, min(0.4, 0.2 * cues.happy_marks))),
        "sadness": noisy_or(
            (hits.score("emotions.sadness"), min(0.6, 0.3 * cues.sad_marks), negative * 0.15)
        ),
        "fear": hits.score("emotions.fear"),
        "optimism": hits.score("emotions.optimism"),
    }
