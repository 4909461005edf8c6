"""The heavy tiers: sentence-encoder heads laid over the ``fast`` tier's answer.

- ``transformer`` (the best tier): all-MiniLM-L6-v2 (numpy, ``signals/minilm.py``) and the
  multilingual Universal Sentence Encoder side by side, one 896-d vector per message;
- ``multilingual``: the Universal Sentence Encoder alone (512-d; ~16 languages).

Each head reads ``[hashed word and character n-grams (signals/hashed.py) | the sentence vectors]``
with one sparse and one dense product. A heavy tier is a *composite*: the fast tier reads the
message first and fills every ``Signals`` field; then the tier's own heads replace the fields they
were trained for (sentiment, emotions, politeness — whatever ``models/<tier>.npz`` holds). Fields
without a head here (the support intent, ``wants_human``, ``risks``, language, urgency) keep the fast tier's
values, and ``model_versions`` names which model produced each field. So the tier is never poorer
than the fast tier, and a head trained later — e.g. a support-intent head from the same labelled
turns as the fast tier's (``tactful train intent --tier transformer``) — takes over its field
without code changes. An intent head is used only when its labels are the fast tier's intent labels
(the taxonomy both answer in); otherwise the fast tier's intent stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from tactful.domain import Signals
from tactful.domain.signals import SentimentLabel
from tactful.signals.base import Encoder, TierUnavailable, Vectors
from tactful.signals.hashed import HashedNgrams
from tactful.signals.heads import F32, HeadSet
from tactful.signals.recipes import EMOTIONS, OTHER
from tactful.signals.support.rules import overlay

#: The encoders each heavy tier concatenates, in order (names for ``load_encoder``).
HEAVY_ENCODERS: Final[dict[str, tuple[str, ...]]] = {
    "transformer": ("transformer", "multilingual"),
    "multilingual": ("multilingual",),
}


def _r(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)


class Concatenated:
    """Several encoders read the same texts; their (already normalised) rows side by side.
    Implements ``Encoder``; each part keeps unit norm, so every encoder weighs the same."""

    def __init__(self, name: str, parts: Sequence[Encoder]) -> None:
        if not parts:
            raise ValueError("a concatenated encoder needs at least one encoder")
        self.name = name
        self.parts = tuple(parts)
        self.version = "+".join(p.version for p in self.parts)
        self.dim = sum(p.dim for p in self.parts)

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        return np.hstack([p.encode(texts) for p in self.parts]).astype(np.float32, copy=False)


class HeavyTier:
    """Implements ``SignalTier`` (plus ``extract_batch`` and ``scores``)."""

    def __init__(
        self, name: str, encoder: Encoder, heads: HeadSet, base: Any, hashed: HashedNgrams | None = None
    ) -> None:
        """``base`` is the fast tier (a ``ModelTier``): it answers first, for every field. With
        ``hashed``, the first ``hashed.width`` rows of the heads' weights read its n-grams and the
        rest the encoder's vectors; without, all rows read the vectors."""
        self.name = name
        self.encoder = encoder
        self.heads = heads
        self.base = base
        self.hashed = hashed
        self._split = hashed.width if hashed is not None else 0
        self.version = f"{name}-{heads.meta.get('version', '1.0.0')}"
        base_intent = getattr(base, "heads", None)
        base_labels = (
            base_intent.heads["intent"].labels if base_intent and "intent" in base_intent.heads else ()
        )
        self._use_intent = "intent" in heads.heads and heads.heads["intent"].labels == base_labels

    def scores(self, texts: Sequence[str]) -> F32:
        """Raw head scores (evaluation: argmax over a subset of a head's labels)."""
        texts = list(texts)
        w = self.heads.weights
        z: F32 = self.encoder.encode(texts) @ w[self._split :] + self.heads.bias
        if self.hashed is not None:
            z += np.asarray(self.hashed.transform(texts) @ w[: self._split], dtype=np.float32)
        return z

    def extract(self, text: str) -> Signals:
        return self.extract_batch([text])[0]

    def extract_batch(self, texts: Sequence[str]) -> list[Signals]:
        if isinstance(texts, str):
            raise TypeError("extract_batch takes a sequence of texts, not one string")
        if not texts:
            return []
        base = self.base.extract_batch(texts)
        z = self.scores(texts)
        out = [self._overlay(signals, z[row : row + 1]) for row, signals in enumerate(base)]
        support_of = getattr(self.base, "support_of", None)
        if support_of is None:
            return out
        # The support rules' floors (anger on "!!!" and 😡, negative valence on threats) hold over
        # the tier's own emotion and sentiment heads too.
        return [
            overlay(signals, support_of(text), {signals.intent: signals.intent_confidence})
            for signals, text in zip(out, texts, strict=True)
        ]

    def _overlay(self, signals: Signals, z: F32) -> Signals:
        h = self.heads.heads
        update: dict[str, Any] = {}
        versions = dict(signals.model_versions)
        confidences = dict(signals.confidences)
        emotional = None
        if "sentiment" in h:
            s = h["sentiment"].probabilities(z)[0]
            labels = h["sentiment"].labels
            update["sentiment"] = SentimentLabel(labels[int(s.argmax())])
            negative, positive = float(s[labels.index("negative")]), float(s[labels.index("positive")])
            update["valence"] = round(positive - negative, 4)
            confidences["sentiment"] = _r(s.max())
            emotional = 1.0 - float(s[labels.index("neutral")])
        emotions = dict(signals.emotions)
        calm = None
        if "emotions" in h:
            fine = h["emotions"].probabilities(z)[0]
            index = {label: i for i, label in enumerate(h["emotions"].labels)}
            emotions |= {label: _r(fine[index[label]]) for label in EMOTIONS if label in index}
            calm = float(fine[index["neutral"]] + fine[index[OTHER]])
        if "emotion" in h:
            tweet = h["emotion"].probabilities(z)[0]
            for i, label in enumerate(h["emotion"].labels):
                # A forced choice among four emotions, scaled by how emotional the text is: by the
                # tier's own fine-grained head where it has one (as the fast tier), else by its own
                # sentiment head's 1 − p(neutral) — so a neutral turn is not "angry" at 40 %, in any
                # language the tier reads. One factor for all four keeps their order (and the
                # emotion head's dev figure) unchanged.
                if calm is not None:
                    weight = 1.0 - calm
                elif emotional is not None:
                    weight = emotional
                else:
                    weight = 1.0
                emotions[label] = _r(tweet[i] * weight)
            confidences["emotion"] = _r(tweet.max())
        if "emotions" in h or "emotion" in h:
            update["emotions"] = emotions
            update["anger"] = emotions.get("anger", signals.anger)
            update["frustration"] = emotions.get("frustration", signals.frustration)
        for signal in ("formality", "politeness"):
            if signal in h:
                update[signal] = _r(h[signal].unit(z)[0])
        if "injection" in h:
            p = float(h["injection"].probabilities(z)[0, h["injection"].labels.index("1")])
            update["injection"] = _r(p)
            confidences["injection"] = _r(max(p, 1.0 - p))
        if self._use_intent:
            p = h["intent"].probabilities(z)[0]
            top = int(p.argmax())
            update["intent"] = h["intent"].labels[top]
            update["intent_confidence"] = confidences["intent"] = _r(p[top])
        for signal, head in h.items():
            if signal != "intent" or self._use_intent:
                versions[signal] = head.ref
        versions["tier"] = self.version
        versions["encoder"] = self.encoder.version
        versions["base_tier"] = signals.model_versions.get("tier", self.base.name)
        update |= {"tier": self.name, "model_versions": versions, "confidences": confidences}
        return signals.model_copy(update=update)


def heavy_tier(name: str, directory: Path | None = None, base: Any = None) -> HeavyTier:
    """Build the heavy tier ``name``. Raises ``TierUnavailable`` when its heads, an encoder or the
    fast tier (its base) is missing, or when the heads were trained on another encoder version."""
    from tactful.signals.tiers import artifact_path, fast_tier

    if name not in HEAVY_ENCODERS:
        raise ValueError(f"unknown heavy tier {name!r}; expected one of {', '.join(HEAVY_ENCODERS)}")
    path = artifact_path(name, directory)
    if not path.is_file():
        raise TierUnavailable(
            f"the {name} tier's heads {path} are missing; rebuild them with `tactful train all --tier {name}`"
        )
    heads, arrays = HeadSet.load(path)
    encoder = heavy_encoder(name)
    if heads.meta.get("encoder") != encoder.version:
        raise TierUnavailable(
            f"the {name} heads were trained on encoder {heads.meta.get('encoder')!r} but "
            f"{encoder.version!r} is installed; retrain with `tactful train all --tier {name}`"
        )
    hashed = HashedNgrams(arrays["idf"].astype(np.float32)) if "idf" in arrays else None
    return HeavyTier(name, encoder, heads, base if base is not None else fast_tier(directory), hashed)


@cache
def heavy_encoder(name: str) -> Concatenated:
    """The (concatenated) encoder of heavy tier ``name``, built once per process."""
    from tactful.signals.encoders import load_encoder

    return Concatenated(name, [load_encoder(part) for part in HEAVY_ENCODERS[name]])


__all__ = ["HEAVY_ENCODERS", "Concatenated", "HeavyTier", "heavy_encoder", "heavy_tier"]
