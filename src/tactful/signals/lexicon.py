"""The lexicon tier: the first, cheapest signal tier. Word lists, VADER and typographic cues.

Everything is loaded and compiled once in the constructor; ``extract`` does one tokenising pass,
one phrase-index walk, one VADER call and arithmetic. Build one ``LexiconTier`` per process.
"""

from __future__ import annotations

from typing import Final

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tactful.domain import Signals
from tactful.signals.cues import cues_of
from tactful.signals.emotions import emotions_of
from tactful.signals.frustration import upset_of
from tactful.signals.intent_rules import intent_of
from tactful.signals.language import LanguageProfiles
from tactful.signals.phrases import PhraseIndex, load_lexicons
from tactful.signals.sentiment import COURTESY, SentimentScorer
from tactful.signals.style import IMPERATIVE, formality_of, politeness_of
from tactful.signals.support.rules import overlay as support_overlay
from tactful.signals.support.rules import rule_lexicons, support_cues
from tactful.signals.tokens import view_of
from tactful.signals.urgency import urgency_of

_LEXICON_FILES: Final = (
    "sentiment.yaml",
    "emotions.yaml",
    "urgency.yaml",
    "style.yaml",
    "language.yaml",
    "intent_rules.yaml",
)
VADER_VERSION: Final = "3.3.2"


def _r(value: float) -> float:
    """Round to 4 places and clamp to [0, 1]: stable output for golden tests and audit logs."""
    return round(min(1.0, max(0.0, value)), 4)


class LexiconTier:
    """Implements ``tactful.signals.base.SignalTier``."""

    name: str = "lexicon"
    version: str = "lexicon-1.0.0"

    def __init__(self) -> None:
        lexicons: dict[str, dict[str, float]] = {}
        for filename in _LEXICON_FILES:
            lexicons.update(load_lexicons(filename))
        self._imperatives = frozenset(lexicons.pop(IMPERATIVE))
        self._index = PhraseIndex(lexicons | rule_lexicons())
        self._sentiment = SentimentScorer(SentimentIntensityAnalyzer(), frozenset(lexicons[COURTESY]))
        self._languages = LanguageProfiles(lexicons)
        self._model_versions = {"lexicon": self.version, "vader": VADER_VERSION}

    def extract(self, text: str) -> Signals:
        view = view_of(text)
        hits = self._index.scan(view)
        cues = cues_of(view)
        sentiment = self._sentiment.score(view, hits)
        upset = upset_of(hits, cues, sentiment)
        emotions = {"anger": upset.anger, "frustration": upset.frustration}
        emotions.update(emotions_of(hits, cues, sentiment, view.questions))
        language = self._languages.guess(view, hits)
        intent = intent_of(hits, sentiment.complaint, view.questions)
        support = support_cues(view, hits, cues)
        label, confidence = intent.intent, intent.confidence
        if support.wants_human > confidence:
            label, confidence = "human_agent", support.wants_human
        signals = Signals(
            language=language.language,
            language_confidence=language.confidence,
            sentiment=sentiment.label,
            valence=round(sentiment.valence, 4),
            emotions={name: _r(value) for name, value in emotions.items()},
            frustration=_r(upset.frustration),
            anger=_r(upset.anger),
            urgency=_r(urgency_of(view, hits, cues)),
            formality=_r(formality_of(view, hits, cues)),
            politeness=_r(politeness_of(view, hits, cues, self._imperatives)),
            intent=label,
            intent_confidence=_r(confidence),
            injection=0.0,  # the engine copies the guard's score here
            tier=self.name,
            model_versions=dict(self._model_versions),
        )
        # Requests for a person, risks and anger cues in six languages, as on the model tiers.
        return support_overlay(signals, support, {label: confidence}, stretch=1.0)
