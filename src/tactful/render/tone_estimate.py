"""The run-time tone scorer: formality, warmth, empathy, brevity and directness of a reply as sent,
each in [0, 1], in every language the templates speak (markers in ``tone_markers.yaml``).

It reads only the text (never the template it came from), so it scores an agent's draft as well as
a rendered reply. How each attribute is measured (docs/tone.md has the rubric, the labelled check
and the comparison with the formality and politeness models):

* formality: formal markers (formal pronouns "usted"/"Sie"/"vous"/"Lei", "Dear", "Kind regards",
  expanded English forms, formal vocabulary) against informal ones (informal pronouns, "Hey",
  contractions, "!", emoji, casual vocabulary), per square root of the sentence count, through a
  logistic: no markers reads 0.5;
* warmth: warm markers (thanks, glad, pleasure, wishes, "!") per sentence;
* empathy: markers of acknowledging the customer's situation or feelings (sorry, I understand,
  frustrating, patience, glad to hear) per sentence;
* brevity: the words the customer reads (an email's greeting line and sign-off block excepted) on
  a log-logistic scale: 12 words read 0.9, 25 words 0.66, 35 words 0.5, 70 words 0.2;
* directness: how soon the reply gets to the next step (the first sentence that asks, instructs
  or commits: a question, "please", "send me", "I'll", "I've escalated") and whether it hedges
  ("perhaps", "if you like", "when you have a moment").

Density scores start from a floor (a reply without any marker is not cold or callous, only plain)
and saturate towards 1. The constants were set on hand-labelled replies (docs/tone.md), not on the
demo's targets.
"""

from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources

import yaml

from tactful.channels.sentences import split_paragraphs, split_sentences
from tactful.domain import Channel, ToneAttribute
from tactful.render.markers import WORD, MarkerIndex, build_index

VERSION = "tone-lexical-2"

# Formality: logistic of (formal - informal) / sqrt(sentences).
FORMALITY_SLOPE = 0.5
# Warmth and empathy: floor + (1 - floor) * (1 - exp(-rate * markers / (sentences + DENSITY_PAD))).
WARMTH_FLOOR, WARMTH_RATE = 0.3, 1.8
EMPATHY_FLOOR, EMPATHY_RATE = 0.15, 2.2
DENSITY_PAD = 1.0  # one marker in a one-sentence reply is strong, not saturating
# Brevity: 1 / (1 + (words / BREVITY_HALF) ** BREVITY_POWER).
BREVITY_HALF, BREVITY_POWER = 35.0, 2.0
# Directness: POSITION[k] when the first step is the k-th sentence (later: the last value), less
# HEDGE_PENALTY per hedge per sentence (at most HEDGE_PENALTY in all).
DIRECTNESS_BY_POSITION = (0.88, 0.66, 0.52, 0.42, 0.35)
DIRECTNESS_NO_STEP = 0.3
HEDGE_PENALTY = 0.2

_CATEGORIES = ("formal", "informal", "warm", "empathy", "hedge", "step")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
_TOKEN = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")


@cache
def _indexes() -> dict[str, tuple[MarkerIndex, float]]:
    """language → (markers, verbosity)."""
    text = resources.files("tactful.render").joinpath("tone_markers.yaml").read_text(encoding="utf-8")
    doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader
    out: dict[str, tuple[MarkerIndex, float]] = {}
    for lang, spec in doc.items():
        categories = {k: v for k, v in spec.items() if k != "verbosity"}
        out[str(lang)] = (build_index(categories), float(spec.get("verbosity", 1.0)))
    return out


def _density(hits: float, sentences: int, floor: float, rate: float) -> float:
    return floor + (1.0 - floor) * (1.0 - math.exp(-rate * hits / (max(1, sentences) + DENSITY_PAD)))


def _is_salutation(words: list[str], sentence: str) -> bool:
    """ "Hi!", "Hola, Marta.", "Coucou !": an opening word or two, not a step or a statement."""
    return len(words) <= 2 and sentence.endswith(("!", ",", "."))


def _parts(text: str, channel: Channel | None) -> tuple[list[str], list[str]]:
    """(body sentences, frame parts): an email's greeting line and sign-off block are frame, which
    carries register but is not what the reply says."""
    if channel is Channel.EMAIL:
        paragraphs = split_paragraphs(text)
        if len(paragraphs) >= 3:
            return split_sentences("\n\n".join(paragraphs[1:-1])), [paragraphs[0], paragraphs[-1]]
    return split_sentences(text), []


class ToneScorer:
    """Scores text on the five tone attributes. Stateless once built; safe to share between threads."""

    version = VERSION

    def __init__(self, cache_size: int = 4096) -> None:
        self._indexes = _indexes()
        self.languages = tuple(self._indexes)
        # Replies repeat (same templates, same tone bands): scores are memoised, boundedly.
        self._memo: dict[tuple[str, str, Channel | None], dict[ToneAttribute, float]] = {}
        self._cache_size = cache_size
        # A new reply is mostly sentences of earlier ones (the templates' fixed lines): the marker
        # counts of a sentence are kept (in ``_CATEGORIES`` order: a tuple of numbers, which the
        # garbage collector stops walking), so a new combination is not tokenised again.
        self._sentences: dict[tuple[int, str], tuple[tuple[float, ...], int]] = {}

    def _counts(self, index: MarkerIndex, text: str) -> tuple[dict[str, float], int]:
        """(marker weight per category, words) of one sentence or frame part."""
        key = (id(index), text)
        found = self._sentences.get(key)
        if found is None:
            words = WORD.findall(text)
            counts = dict.fromkeys(_CATEGORIES, 0.0)
            index.count(words, counts)
            for pattern, category, weight in index.patterns:
                counts[category] += weight * len(pattern.findall(text))
            found = (tuple(counts.values()), len(words))
            if len(self._sentences) >= 8 * self._cache_size:
                self._sentences.clear()
            self._sentences[key] = found
        return dict(zip(_CATEGORIES, found[0], strict=True)), found[1]

    def score(
        self, text: str, language: str = "en", channel: Channel | None = None
    ) -> dict[ToneAttribute, float]:
        lowered = (_TOKEN.sub("name", text) if "<" in text else text).replace("\u2019", "'").lower()
        key = (lowered, language, channel if channel is Channel.EMAIL else None)
        found = self._memo.get(key)
        if found is None:
            found = self._score(lowered, language, channel)
            if len(self._memo) >= self._cache_size:
                self._memo.clear()
            self._memo[key] = found
        return dict(found)

    def _score(self, lowered: str, language: str, channel: Channel | None) -> dict[ToneAttribute, float]:
        index, verbosity = self._indexes.get(language) or self._indexes["en"]
        body, frame = _parts(lowered, channel)
        totals = dict.fromkeys(_CATEGORIES, 0.0)
        words = 0
        first_step: int | None = None
        content = 0  # sentences that are not a bare salutation
        for sentence in body or [lowered]:
            counts, n_words = self._counts(index, sentence)
            words += n_words
            for category, value in counts.items():
                totals[category] += value
            if n_words <= 2 and _is_salutation(sentence.split(), sentence):
                continue
            if first_step is None and (sentence.endswith("?") or counts["step"] > 0):
                first_step = content
            content += 1
        formal, informal = totals["formal"], totals["informal"]
        for part in frame:
            counts, _ = self._counts(index, part)
            formal += counts["formal"]
            informal += counts["informal"]
        n = max(1, len(body))
        bangs = lowered.count("!")
        emoji = len(_EMOJI.findall(lowered))
        informal += 0.5 * bangs + emoji
        formality = 1.0 / (1.0 + math.exp(-FORMALITY_SLOPE * (formal - informal) / math.sqrt(n)))
        warm = totals["warm"] + 0.5 * bangs + 0.5 * emoji
        position = (
            DIRECTNESS_NO_STEP
            if first_step is None
            else DIRECTNESS_BY_POSITION[min(first_step, len(DIRECTNESS_BY_POSITION) - 1)]
        )
        hedging = min(1.0, totals["hedge"] / max(1, content))
        return {
            "formality": round(formality, 4),
            "warmth": round(_density(warm, n, WARMTH_FLOOR, WARMTH_RATE), 4),
            "empathy": round(_density(totals["empathy"], n, EMPATHY_FLOOR, EMPATHY_RATE), 4),
            "brevity": round(1.0 / (1.0 + (words / verbosity / BREVITY_HALF) ** BREVITY_POWER), 4),
            "directness": round(max(0.0, position - HEDGE_PENALTY * hedging), 4),
        }


@cache
def _default_scorer() -> ToneScorer:
    return ToneScorer()


def tone_of_text(
    text: str, language: str = "en", channel: Channel | None = None
) -> dict[ToneAttribute, float]:
    """Score ``text`` with the shared scorer (see ``ToneScorer``)."""
    return _default_scorer().score(text, language, channel)
