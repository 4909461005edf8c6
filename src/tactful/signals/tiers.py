"""The model tiers — ``fast`` (sparse n-gram features) and ``embed`` (a static sentence encoder) —
and ``load_tier`` for every tier by name (the heavy ``multilingual`` and ``transformer`` tiers are
composites over ``fast``: ``signals/heavy.py``).

Each model tier scores all its heads with one product per message (gathered weight rows for ``fast``,
one matrix product per batch for the encoder tiers), post-processes every head in one pass and turns
the scores into ``Signals``. Language and urgency have no labelled training data here, so every
tier takes them from the lexicon rules (stop-word profiles; urgent words and deadlines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Final, cast

import numpy as np

from tactful.domain import Signals
from tactful.domain.intents import SupportIntent
from tactful.domain.signals import SentimentLabel
from tactful.signals.base import SignalTier, TierUnavailable
from tactful.signals.cues import cues_of
from tactful.signals.featurize import Featurizer, Vocabulary, scheme_of
from tactful.signals.heads import F32, HeadSet
from tactful.signals.language import LanguageProfiles
from tactful.signals.lexicon import LexiconTier
from tactful.signals.phrases import PhraseIndex, load_lexicons
from tactful.signals.recipes import EMOTIONS, OTHER
from tactful.signals.support.rules import (
    SupportCues,
    combine_intent,
    overlay_update,
    rule_lexicons,
    support_cues,
)
from tactful.signals.token_scores import TokenScorer
from tactful.signals.tokens import view_of
from tactful.signals.urgency import urgency_of

MODELS_DIR: Final = Path(__file__).parent / "models"
TIERS: Final = ("lexicon", "fast", "embed", "multilingual", "transformer")
_SENTIMENTS: Final = tuple(SentimentLabel)  # negative, neutral, positive


def artifact_path(tier: str, directory: Path | None = None) -> Path:
    return (directory or MODELS_DIR) / f"{tier}.npz"


class _LexicalCues:
    """Language, urgency and the support rules (signals/support/rules.py) from word lists, in one
    phrase-index pass."""

    def __init__(self) -> None:
        lexicons: dict[str, dict[str, float]] = rule_lexicons()
        for filename in ("urgency.yaml", "language.yaml"):
            lexicons.update(load_lexicons(filename))
        self._index = PhraseIndex(lexicons)
        self._languages = LanguageProfiles(lexicons)

    def of(self, text: str) -> tuple[str, float, float, SupportCues]:
        view = view_of(text)
        hits = self._index.scan(view)
        guess = self._languages.guess(view, hits)
        cues = cues_of(view)
        return guess.language, guess.confidence, urgency_of(view, hits, cues), support_cues(view, hits, cues)


def _unit(value: float) -> float:
    """``value`` clipped to [0, 1] and rounded to 4 places (``round(x, 4)`` costs twice as much)."""
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else round(value * 1e4) / 1e4


class _Columns:
    """Where each head's outputs sit in a row of ``HeadSet.outputs``."""

    def __init__(self, heads: HeadSet) -> None:
        h = heads.heads

        def column(signal: str, label: str) -> int:
            return h[signal].start + h[signal].labels.index(label)

        self.sentiment = [column("sentiment", label) for label in SentimentLabel]
        self.fine = [(label, column("emotions", label)) for label in EMOTIONS]
        self.calm = (column("emotions", "neutral"), column("emotions", OTHER))
        self.tweet = [(label, column("emotion", label)) for label in h["emotion"].labels]
        self.intent = slice(h["intent"].start, h["intent"].stop)
        self.intent_labels = h["intent"].labels
        self.overlay_intents = [
            (label, i)
            for i, label in enumerate(self.intent_labels)
            if label in (SupportIntent.HUMAN_AGENT.value, SupportIntent.FRAUD.value)
        ]
        self.formality, self.politeness = h["formality"].start, h["politeness"].start
        self.injection = column("injection", "1")


class ModelTier:
    """Implements ``SignalTier`` (plus ``extract_batch``) on top of a ``HeadSet``.

    ``score`` maps texts to the raw head scores, shape (n, columns)."""

    def __init__(
        self,
        name: str,
        version: str,
        heads: HeadSet,
        score: Callable[[Sequence[str]], F32],
        score_one: Callable[[str], list[float]] | None = None,
        warm: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.heads = heads
        self._score = score
        # One message's raw scores as plain floats, when the tier can give them without a batch
        # (the fast tier): ``extract`` then makes no batch array to index.
        self._score_one = score_one
        self._warm = warm
        self._cues = _LexicalCues()
        self._columns = _Columns(heads)
        self._versions = {signal: head.ref for signal, head in heads.heads.items()}
        self._versions["tier"] = version

    def warm(self) -> None:
        """Fill the tier's caches ahead of the first messages (the fast tier: every vocabulary
        word's rows); the service does it at start-up (``TierSelector.from_settings``)."""
        if self._warm is not None:
            self._warm()

    def extract(self, text: str) -> Signals:
        if self._score_one is not None:
            return self._signals(text, self.heads.row_outputs(self._score_one(text)))
        return self.extract_batch([text])[0]

    def extract_batch(self, texts: Sequence[str]) -> list[Signals]:
        if isinstance(texts, str):
            raise TypeError("extract_batch takes a sequence of texts, not one string")
        if not texts:
            return []
        # Every head's softmax or squashing for the whole batch in one pass, then plain floats:
        # for one message's few dozen values, Python arithmetic beats an array call per value.
        z = self._score(texts)
        rows = [self.heads.row_outputs(z[0].tolist())] if len(z) == 1 else self.heads.outputs(z).tolist()
        return [self._signals(text, row) for text, row in zip(texts, rows, strict=True)]

    def _signals(self, text: str, row: list[float]) -> Signals:
        """One message's ``Signals``, built once: the heads' outputs with the support rules' floors
        (``overlay_update``) merged in before the model is validated."""
        c = self._columns
        emotions: dict[str, float] = {}
        for label, i in c.fine:
            emotions[label] = _unit(row[i])
        # The TweetEval head is a forced choice among four emotions; scaled by how emotional the
        # fine-grained head finds the text, so a neutral message is not "angry" at 40 %.
        emotional = 1.0 - row[c.calm[0]] - row[c.calm[1]]
        tweet = 0.0  # the TweetEval head's largest probability (each is > 0)
        for label, i in c.tweet:
            emotions[label] = _unit(row[i] * emotional)
            tweet = row[i] if row[i] > tweet else tweet
        sentiment = [row[i] for i in c.sentiment]
        injection = row[c.injection]
        language, language_confidence, urgency, support = self._cues.of(text)
        label, confidence, combined = combine_intent(row[c.intent], c.intent_labels, support, language)
        confidence, language_confidence = _unit(confidence), _unit(language_confidence)
        fields = {
            "language": language,
            "language_confidence": language_confidence,
            "sentiment": _SENTIMENTS[sentiment.index(max(sentiment))],
            "valence": round((sentiment[2] - sentiment[0]) * 1e4) / 1e4,
            "emotions": emotions,
            "frustration": emotions["frustration"],
            "anger": emotions["anger"],
            "urgency": _unit(urgency),
            "formality": _unit(row[c.formality]),
            "politeness": _unit(row[c.politeness]),
            "intent": label,
            "intent_confidence": confidence,
            "injection": _unit(injection),
            "tier": self.name,
            "model_versions": self._versions,  # validation copies it
            "confidences": {
                "sentiment": _unit(max(sentiment)),
                "emotion": _unit(tweet),
                "intent": confidence,
                "injection": _unit(max(injection, 1.0 - injection)),
                "language": language_confidence,
            },
        }
        # overlay_update reads the combined distribution of the human-agent and fraud intents only
        overlay = {label: combined[i] for label, i in c.overlay_intents}
        fields.update(overlay_update(fields, support, overlay))
        return Signals(**fields)

    def scores(self, texts: Sequence[str]) -> F32:
        """Raw head scores (for evaluation: argmax over any subset of a head's labels)."""
        return self._score(texts)

    def support_of(self, text: str) -> SupportCues:
        """The support rules' reading of ``text`` (the heavy tiers lay it over their own heads)."""
        return self._cues.of(text)[3]


def fast_tier(directory: Path | None = None) -> ModelTier:
    path = artifact_path("fast", directory)
    if not path.is_file():
        raise TierUnavailable(
            f"the fast tier's artifact {path} is missing; rebuild it with `tactful train all`"
        )
    heads, arrays = HeadSet.load(path)
    terms = tuple(arrays["terms"].tobytes().decode("utf-8").split("\n"))
    featurizer = Featurizer(Vocabulary(terms, arrays["idf"].astype(np.float32)), scheme_of(heads.meta))
    version = "fast-" + heads.meta.get("version", "1.0.0")
    if featurizer.scheme == "additive":
        # A sum of per-token rows per message (signals/token_scores.py); a batch stacks the rows.
        tokens = TokenScorer(featurizer, heads)

        def summed(texts: Sequence[str]) -> F32:
            rows = [tokens.scores(t) for t in texts]
            # float64 rows (HeadSet.outputs computes in float64 anyway): no conversion per message
            return cast(F32, rows[0][None] if len(rows) == 1 else np.vstack(rows))

        return ModelTier(
            "fast", version, heads, summed, lambda text: tokens.scores(text).tolist(), warm=tokens.warm
        )

    def score(texts: Sequence[str]) -> F32:
        # One gather-and-product over every head's columns per message; a batch stacks the rows
        # (a CSR product would sum in another order, and batch must equal one by one).
        rows = [heads.sparse_scores(*featurizer.features(t)) for t in texts]
        return rows[0][None] if len(rows) == 1 else np.vstack(rows)

    return ModelTier("fast", version, heads, score)


def encoder_tier(tier: str, directory: Path | None = None) -> ModelTier:
    from tactful.signals.encoders import load_encoder

    path = artifact_path(tier, directory)
    if not path.is_file():
        raise TierUnavailable(
            f"the {tier} tier's heads {path} are missing; rebuild them with `tactful train all --tier {tier}`"
        )
    encoder = load_encoder(tier)  # raises TierUnavailable when the extra is not installed
    heads, _ = HeadSet.load(path)
    if heads.meta.get("encoder") != encoder.version:
        raise TierUnavailable(
            f"the {tier} heads were trained on encoder {heads.meta.get('encoder')!r} but "
            f"{encoder.version!r} is installed; retrain with `tactful train all --tier {tier}`"
        )

    def score(texts: Sequence[str]) -> F32:
        return heads.dense_scores(encoder.encode(list(texts)))

    return ModelTier(tier, f"{tier}-{encoder.version}", heads, score)


@cache
def load_tier(name: str) -> SignalTier:
    """The tier called ``name``, built once per process. Raises ``TierUnavailable`` when its
    artifact or optional extra is missing, ``ValueError`` for an unknown name."""
    if name == "lexicon":
        return LexiconTier()
    if name == "fast":
        return fast_tier()
    if name == "embed":
        return encoder_tier(name)
    if name in ("multilingual", "transformer"):
        from tactful.signals.heavy import heavy_tier

        # On the process's one fast tier (their base, answering first): one copy of its weights
        # and caches, not one more per heavy tier (~57 MB and 0.27 s each), and the net's
        # start-up warming serves them too. Its caches are safe to share across threads.
        return heavy_tier(name, base=load_tier("fast"))
    raise ValueError(f"unknown signal tier {name!r}; expected one of {', '.join(TIERS)}")
