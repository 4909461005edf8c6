"""A character n-gram language model for the six reply languages (en, es, de, fr, it, pt): what
tells "quiero hablar con una persona" or "Mitarbeiter sprechen" apart when a short message has too
few stop words for ``language.py``'s profiles.

Per language, the smoothed log-probabilities of its most frequent character 1–3-grams (inside
words, padded with a space), counted on tweets: UMSAB train for es/de/fr/it/pt, TweetEval-emotion
train for English (``@user`` mentions and links dropped). A text's score per language is the mean
log-probability of its grams; the softmax of those means (sharpened by ``SHARPNESS``) is the
guess. Counting is deterministic, so ``build`` rebuilds ``models/language.npz`` exactly.

    python -m tactful.signals.language_chars   # rebuild the artifact from the shared data
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from tactful.signals.datasets import data_dir, read_table

LANGUAGES: Final = ("en", "es", "de", "fr", "it", "pt")
ARTIFACT: Final = Path(__file__).parent / "models" / "language.npz"
KEEP_PER_LANGUAGE: Final = 4000
SMOOTHING: Final = 0.5
SHARPNESS: Final = 3.0  # mean log-prob differences are small; this spreads them to probabilities
_NOISE: Final = re.compile(r"@\w+|https?://\S+|#|\d+")
_WORD: Final = re.compile(r"[^\W\d_]+")


def grams(text: str) -> list[str]:
    return [g for word in _WORD.findall(_NOISE.sub(" ", text.lower())) for g in _word_grams(word)]


def _word_grams(word: str) -> list[str]:
    padded = f" {word} "
    return [
        padded[i : i + n] for n in (1, 2, 3) for i in range(len(padded) - n + 1) if padded[i : i + n] != " "
    ]


@dataclass(frozen=True)
class CharModel:
    terms: tuple[str, ...]
    log_p: npt.NDArray[np.float32]  # (terms, languages)
    unknown: npt.NDArray[np.float32]  # (languages,): log-probability of a gram a language never kept

    def probabilities(self, text: str) -> tuple[dict[str, float], int]:
        """Language → probability, and how many grams the text had (the evidence)."""
        words = _WORD.findall(_NOISE.sub(" ", text.lower()))
        if not words:
            return {}, 0
        by_word = _rows(self)
        known: list[int] = []
        count = 0
        for word in words:  # each word's grams looked up once per process, not once per message
            entry = by_word.get(word) or self._word_rows(word, by_word)
            known.extend(entry[0])
            count += entry[1]
        unknown = count - len(known)
        total = self.log_p[known].sum(axis=0) + unknown * self.unknown
        mean = total / count * SHARPNESS * math.sqrt(count)
        mean = mean - mean.max()
        p = np.exp(mean)
        p = p / p.sum()
        return {language: float(p[i]) for i, language in enumerate(LANGUAGES)}, count

    def _word_rows(self, word: str, by_word: dict[str, tuple[list[int], int]]) -> tuple[list[int], int]:
        """The rows of ``word``'s kept grams, in ``grams`` order, and how many grams it has."""
        index = _index(self)
        found = _word_grams(word)
        entry = ([r for g in found if (r := index.get(g, -1)) >= 0], len(found))
        if len(by_word) < _WORDS_KEPT:
            by_word[word] = entry
        return entry

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                terms=np.frombuffer("\n".join(self.terms).encode("utf-8"), dtype=np.uint8),
                log_p=self.log_p.astype(np.float16),
                unknown=self.unknown.astype(np.float32),
            )


_INDEXES: dict[int, dict[str, int]] = {}
_ROWS: dict[int, dict[str, tuple[list[int], int]]] = {}
_WORDS_KEPT: Final = 100_000


def _rows(model: CharModel) -> dict[str, tuple[list[int], int]]:
    """Per model, word → (its kept grams' rows, its gram count), filled as words are met."""
    return _ROWS.setdefault(id(model), {})


def _index(model: CharModel) -> dict[str, int]:
    key = id(model)
    if key not in _INDEXES:
        _INDEXES[key] = {term: i for i, term in enumerate(model.terms)}
    return _INDEXES[key]


def build(texts_by_language: Mapping[str, Iterable[str]]) -> CharModel:
    counts = {
        language: Counter(g for t in texts_by_language[language] for g in grams(t)) for language in LANGUAGES
    }
    kept: set[str] = set()
    for counter in counts.values():
        kept.update(g for g, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:KEEP_PER_LANGUAGE])
    terms = tuple(sorted(kept))
    log_p = np.zeros((len(terms), len(LANGUAGES)), dtype=np.float64)
    unknown = np.zeros(len(LANGUAGES), dtype=np.float64)
    for j, language in enumerate(LANGUAGES):
        counter = counts[language]
        total = sum(counter.values()) + SMOOTHING * (len(terms) + 1)
        log_p[:, j] = [math.log((counter.get(t, 0) + SMOOTHING) / total) for t in terms]
        unknown[j] = math.log(SMOOTHING / total)
    return CharModel(terms, log_p.astype(np.float16).astype(np.float32), unknown.astype(np.float32))


def training_texts(root: Path) -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {language: [] for language in LANGUAGES}
    for row in read_table(root / "umsab-multilingual-sentiment" / "train.csv"):
        by_language[row["lang"]].append(row["text"])
    by_language["en"] = [row["text"] for row in read_table(root / "tweeteval-emotion" / "train.csv")]
    return by_language


@cache
def load(path: Path = ARTIFACT) -> CharModel | None:
    """The shipped model, or None when the artifact is missing (the stop-word profiles still work)."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as archive:
        terms = tuple(archive["terms"].tobytes().decode("utf-8").split("\n"))
        return CharModel(terms, archive["log_p"].astype(np.float32), archive["unknown"].astype(np.float32))


def main(argv: Sequence[str] | None = None) -> int:
    model = build(training_texts(data_dir()))
    model.save(ARTIFACT)
    print(f"{len(model.terms)} grams → {ARTIFACT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
