"""A small, fast language guess from stop-word profiles (en, es, fr, de, pt, it, nl).

Each distinct stop word found adds ``1 / (number of profiled languages that share it)`` to its
languages, so "de" (es, fr, pt, nl) counts little and "the" counts fully. A few letters only one of
these languages uses (ñ, ß, ã) add to it. Too little evidence gives "und" with low confidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

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

    def guess(self, view: TextView, hits: Hits) -> LanguageGuess:
        scores = {
            language: sum(self._weights[language][w] for w in hits.phrases(f"language.{language}"))
            for language in LANGUAGES
        }
        if not view.text.isascii():
            for letter, language in _MARK_LETTERS:
                if letter in view.lower:
                    scores[language] += 1.0
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        (best, top), (_, second) = ranked[0], ranked[1]
        total = sum(scores.values())
        if top < _MIN_EVIDENCE or len(view.words) < 3:
            return LanguageGuess(UNDETERMINED, round(min(0.2, top / 10), 4))
        margin = (top - second) / top
        confidence = margin * min(1.0, total / _FULL_EVIDENCE) * (top / total) ** 0.5
        return LanguageGuess(best, round(min(_MAX_CONFIDENCE, max(0.0, confidence)), 4))
