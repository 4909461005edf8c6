"""A small, fast language guess from stop-word profiles (en, es, fr, de, pt, it, nl).

Each distinct stop word found adds ``1 / (number of profiled languages that share it)`` to its
languages, so "de" (es, fr, pt, nl) counts little and "the" counts fully. A few letters only one of
these languages uses (ñ, ß, ã) add to it.

Short support messages often carry too few stop words ("quiero hablar con una persona", "Mitarbeiter
sprechen"): when the profiles are unsure, the character n-gram model (``language_chars.py``, six
languages) decides, its confidence growing with the letters it saw; a one-word message is never
sure ("representative" is English and French). Too little evidence gives "und" with low confidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from tactful.signals import language_chars
from tactful.signals.phrases import Hits
from tactful.signals.tokens import TextView

LANGUAGES: Final = ("en", "es", "fr", "de", "pt", "it", "nl")
UNDETERMINED: Final = "und"
_MARK_LETTERS: Final = (
    ("ñ", "es"),
    ("¿", "es"),
    ("¡", "es"),
    ("ß", "de"),
    ("ã", "pt"),
    ("õ", "pt"),
    ("œ", "fr"),
)
_MIN_EVIDENCE: Final = 1.5  # summed stop-word weight below which we do not guess
_FULL_EVIDENCE: Final = 5.0  # summed weight at which confidence is no longer held back by length
_MAX_CONFIDENCE: Final = 0.95  # a stop-word count is never certain
_SURE: Final = 0.5  # a stop-word guess this confident stands without the character model
_CHAR_FULL_EVIDENCE: Final = 50  # character grams at which the character model's guess is not held back
_ONE_WORD_CAP: Final = 0.5
_CHAR_WINDOW: Final = 400  # characters read by the model: plenty for a language, bounded for a long message
_CHAR_MIN_EVIDENCE: Final = 20  # fewer grams ("ok", "Hi", "Hola"): undetermined, as the profiles say


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    confidence: float


class LanguageProfiles:
    def __init__(self, lexicons: Mapping[str, Mapping[str, float]]) -> None:
        share: dict[str, int] = {}
        for language in LANGUAGES:
            for word in lexicons[f"language.{language}"]:
                share[word] = share.get(word, 0) + 1
        self._weights = {
            language: {word: 1.0 / share[word] for word in lexicons[f"language.{language}"]}
            for language in LANGUAGES
        }
        self._categories = tuple(
            (language, f"language.{language}", self._weights[language]) for language in LANGUAGES
        )

    def guess(self, view: TextView, hits: Hits) -> LanguageGuess:
        words = self._stop_words(view, hits)
        if words.confidence >= _SURE:
            return words
        model = language_chars.load()
        if model is None:
            return words
        probabilities, evidence = model.probabilities(view.text[:_CHAR_WINDOW])
        if evidence < _CHAR_MIN_EVIDENCE:
            return words
        best = max(probabilities, key=probabilities.__getitem__)
        confidence = probabilities[best] * min(1.0, evidence / _CHAR_FULL_EVIDENCE) * _MAX_CONFIDENCE
        if view.alpha_words <= 1:
            confidence = min(confidence, _ONE_WORD_CAP)
        if words.language == best:
            confidence = max(confidence, words.confidence)
        elif confidence <= words.confidence:
            return words
        return LanguageGuess(best, round(confidence, 4))

    def _stop_words(self, view: TextView, hits: Hits) -> LanguageGuess:
        found = hits.by_category
        scores = dict.fromkeys(LANGUAGES, 0.0)
        for language, category, weights in self._categories:
            words = found.get(category)
            if words:
                scores[language] = sum(map(weights.__getitem__, words))
        if not view.text.isascii():
            for letter, language in _MARK_LETTERS:
                if letter in view.lower:
                    scores[language] += 1.0
        # The first language of the highest score (as a stable sort by score would rank it) and
        # the second-highest score.
        best = max(scores, key=scores.__getitem__)
        values = sorted(scores.values())
        top, second = values[-1], values[-2]
        total = sum(scores.values())
        if top < _MIN_EVIDENCE or len(view.words) < 3:
            return LanguageGuess(UNDETERMINED, round(min(0.2, top / 10), 4))
        margin = (top - second) / top
        confidence = margin * min(1.0, total / _FULL_EVIDENCE) * (top / total) ** 0.5
        return LanguageGuess(best, round(min(_MAX_CONFIDENCE, max(0.0, confidence)), 4))
