"""Word and phrase lexicons, loaded from the YAML files beside this module and matched in one pass.

All lexicons of the tier go into one index keyed by a phrase's first word, so a message costs one
walk over its tokens with a dict look-up per token, however many lexicons there are (a regex
alternation of hundreds of phrases would be tried at every character).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

import yaml

from tactful.signals.tokens import TextView


def load_lexicons(filename: str) -> dict[str, dict[str, float]]:
    """Read ``filename`` (beside this module).

    Each category is ``{phrase: weight}`` or a list of phrases (weight 1). Categories are returned
    prefixed with the file's stem: ``emotions.yaml`` → ``emotions.anger``.
    """
    raw = yaml.safe_load(resources.files(__package__).joinpath(filename).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{filename}: expected a mapping of categories")
    stem = filename.rsplit(".", 1)[0]
    lexicons: dict[str, dict[str, float]] = {}
    for category, entries in raw.items():
        if isinstance(entries, dict):
            lexicons[f"{stem}.{category}"] = {str(k).lower(): float(v) for k, v in entries.items()}
        elif isinstance(entries, list):
            lexicons[f"{stem}.{category}"] = {str(k).lower(): 1.0 for k in entries}
        else:
            raise ValueError(f"{filename}: category {category!r} must be a mapping or a list")
    return lexicons


def noisy_or(weights: Iterable[float]) -> float:
    """1 - Π(1 - w): one strong cue is enough, several weak ones add up, never above 1."""
    keep = 1.0
    for weight in weights:
        if weight > 0.0:  # each weight clipped to [0, 1]; comparisons, not min/max calls (hot)
            keep *= 1.0 - weight if weight < 1.0 else 0.0
    return 1.0 - keep


@dataclass
class Hits:
    """What one message matched: category → {phrase: weight} (each phrase once)."""

    by_category: dict[str, dict[str, float]] = field(default_factory=dict)

    def score(self, category: str) -> float:
        found = self.by_category.get(category)
        return noisy_or(found.values()) if found else 0.0

    def count(self, category: str) -> int:
        return len(self.by_category.get(category, ()))

    def total(self, category: str) -> float:
        found = self.by_category.get(category)
        return sum(found.values()) if found else 0.0

    def phrases(self, category: str) -> tuple[str, ...]:
        return tuple(self.by_category.get(category, ()))


_Entry = tuple[tuple[str, ...], str, str, float]  # (remaining words, category, phrase, weight)


class PhraseIndex:
    def __init__(self, lexicons: Mapping[str, Mapping[str, float]]) -> None:
        index: dict[str, list[_Entry]] = {}
        for category, entries in lexicons.items():
            for phrase, weight in entries.items():
                words = tuple(phrase.split())
                if not words:
                    continue
                index.setdefault(words[0], []).append((words[1:], category, phrase, weight))
        for entries_ in index.values():
            entries_.sort(key=lambda e: -len(e[0]))  # longest phrase first
        self._index = index

    def scan(self, view: TextView) -> Hits:
        hits: dict[str, dict[str, float]] = {}
        words = view.words
        index = self._index
        for position, entries in enumerate(map(index.get, words)):  # most words start no phrase
            if entries is None:
                continue
            for rest, category, phrase, weight in entries:
                if rest and words[position + 1 : position + 1 + len(rest)] != rest:
                    continue
                hits.setdefault(category, {})[phrase] = weight
        return Hits(hits)
