"""What situation a turn is in, read from the signals: the intent family and the dominant emotion."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from tactful.domain import SentimentLabel, Signals

OTHER = "other"

# Checked in this order so ties resolve the same way every time; anger outranks frustration because an
# acknowledgement that under-reads anger lands worse than one that over-reads frustration.
#: How strong an emotion must be to be acknowledged in a message whose sentiment is positive.
POSITIVE_OVERRIDE = 0.6
_EMOTION_ORDER = ("anger", "frustration", "urgency", "confusion", "disappointment", "worry")
_ALIASES: dict[str, tuple[str, ...]] = {
    "disappointment": ("disappointment", "sadness"),
    "worry": ("worry", "fear", "anxiety"),
}


def family_of(intent: str, families: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """The family named ``intent``; else the first family with a keyword contained in ``intent``
    (case-insensitive: tenant intents and other models' labels land here); else ``"other"``."""
    needle = intent.strip().lower()
    for family, _ in families:
        if family == needle:
            return family
    for family, keywords in families:
        if any(k in needle for k in keywords):
            return family
    return OTHER


def situation_of(family: str, text: str, cues: Mapping[str, Sequence[tuple[str, re.Pattern[str]]]]) -> str:
    """``family`` or its first sub-situation (``"billing.invoice"``) whose cue the message contains."""
    for name, pattern in cues.get(family, ()):
        if pattern.search(text):
            return name
    return family


def dominant_emotion(signals: Signals, minimum: float) -> str | None:
    """The strongest emotion at or above ``minimum``; ``"negative"`` for plain negative sentiment."""
    emotions = signals.emotions
    scores = {
        "anger": max(signals.anger, emotions.get("anger", 0.0)),
        "frustration": max(signals.frustration, emotions.get("frustration", 0.0)),
        "urgency": max(signals.urgency, emotions.get("urgency", 0.0)),
        "confusion": emotions.get("confusion", 0.0),
    }
    for name, keys in _ALIASES.items():
        scores[name] = max(emotions.get(k, 0.0) for k in keys)
    best = max(_EMOTION_ORDER, key=lambda name: scores[name])  # max keeps the first of equal scores
    # A glad message ("thanks for sorting it so quickly!") carries words that read as mild urgency
    # or worry; acknowledging those as a problem answers the wrong message. Only a strong reading
    # overrides positive sentiment.
    if signals.sentiment is SentimentLabel.POSITIVE and scores[best] < POSITIVE_OVERRIDE:
        return None
    if scores[best] >= minimum:
        return best
    if signals.sentiment is SentimentLabel.NEGATIVE:
        return "negative"
    return None
