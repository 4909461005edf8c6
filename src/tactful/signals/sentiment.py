"""Valence: VADER, corrected for how customers complain politely.

VADER reads gratitude and politeness as positive sentiment, so "I was charged twice for my order,
please refund me. Thanks!" comes out at about +0.57. When support-complaint cues are present, the
courtesy words are left out of what VADER sees, and the result is blended towards a negative anchor
in proportion to how sure the complaint lexicon is. The correction can only lower the valence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from tactful.domain import SentimentLabel
from tactful.signals.phrases import Hits
from tactful.signals.tokens import EDGE_PUNCTUATION, TextView

COMPLAINT: Final = "sentiment.complaint"
COURTESY: Final = "sentiment.courtesy"
_COMPLAINT_ANCHOR: Final = -0.7  # where a certain complaint's valence is pulled to
_MASK_FROM: Final = 0.3  # complaint strength from which courtesy words stop counting as sentiment
_LABEL_THRESHOLD: Final = 0.15


class PolarityScorer(Protocol):
    """The part of ``vaderSentiment.SentimentIntensityAnalyzer`` used here."""

    def polarity_scores(self, text: str) -> Mapping[str, float]: ...


@dataclass(frozen=True)
class Sentiment:
    valence: float
    label: SentimentLabel
    complaint: float  # 0..1 strength of support-complaint cues
    vader: float  # VADER's compound on the text it was given, before the correction


class SentimentScorer:
    def __init__(self, vader: PolarityScorer, courtesy: frozenset[str]) -> None:
        self._vader = vader
        self._courtesy = courtesy

    def score(self, view: TextView, hits: Hits) -> Sentiment:
        complaint = hits.score(COMPLAINT)
        text = view.text
        if complaint >= _MASK_FROM and hits.count(COURTESY):
            text = " ".join(
                token for token in text.split() if token.lower().strip(EDGE_PUNCTUATION) not in self._courtesy
            )
        compound = float(self._vader.polarity_scores(text)["compound"]) if text else 0.0
        valence = compound
        if complaint > 0.0:
            valence = min(compound, compound * (1.0 - complaint) + _COMPLAINT_ANCHOR * complaint)
        valence = max(-1.0, min(1.0, valence))
        return Sentiment(valence=valence, label=label_for(valence), complaint=complaint, vader=compound)


def label_for(valence: float) -> SentimentLabel:
    if valence <= -_LABEL_THRESHOLD:
        return SentimentLabel.NEGATIVE
    if valence >= _LABEL_THRESHOLD:
        return SentimentLabel.POSITIVE
    return SentimentLabel.NEUTRAL
