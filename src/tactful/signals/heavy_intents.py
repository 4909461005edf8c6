"""Tenant intent models on a heavy tier's features: the tenant's own n-gram vocabulary (the fast
tier's featuriser, as ``tenant_intents``) and the heavy tier's sentence vectors, side by side.

Stacking the two is what lifts intent accuracy past either alone: on BANKING77 (80/20 of its
train split) the multilingual encoder's vectors alone reach 0.908 and the n-grams alone 0.905;
n-grams with the transformer tier's MiniLM + USE vectors 0.939 (docs/signals.md). Training, the
out-of-scope threshold and the held-out figures follow ``tenant_intents.train_intents`` exactly
(same split, seed and rule), so the two kinds of model are measured the same way. ``tactful eval
intent --train FILE --tier transformer`` trains and measures one; serving tenant models on the
heavy tiers is left to the decision path's tenant-intent step (it uses the fast-tier models today).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from tactful.signals import metrics
from tactful.signals.base import Encoder
from tactful.signals.datasets import stratified_split
from tactful.signals.featurize import Featurizer, Vocabulary
from tactful.signals.tenant_intents import (
    HOLDOUT,
    OOS,
    REGULARISATION,
    SEED,
    IntentPrediction,
    _threshold,
    validate_examples,
)

MAX_ITER: Final = 2000


@dataclass(frozen=True)
class HeavyIntentModel:
    featurizer: Featurizer
    encoder: Encoder
    model: Any  # the fitted LogisticRegression
    threshold: float
    metrics: dict[str, float]

    def predict(self, text: str) -> IntentPrediction:
        p = self.model.predict_proba(_features(self.featurizer, self.encoder, [text]))[0]
        top = int(p.argmax())
        label = str(self.model.classes_[top]) if float(p[top]) >= self.threshold else OOS
        return IntentPrediction(label, round(float(p[top]), 4))


def _features(featurizer: Featurizer, encoder: Encoder, texts: Sequence[str]) -> csr_matrix:
    dense = csr_matrix(np.asarray(encoder.encode(list(texts)), dtype=np.float32))
    return csr_matrix(hstack([featurizer.matrix(list(texts)), dense], format="csr"))


def _fit(encoder: Encoder, texts: Sequence[str], labels: Sequence[str]) -> tuple[Featurizer, Any]:
    featurizer = Featurizer(Vocabulary.build(texts, word_min_df=1, char_min_df=2))
    model = LogisticRegression(C=REGULARISATION, max_iter=MAX_ITER)
    model.fit(_features(featurizer, encoder, texts), np.asarray(labels))
    return featurizer, model


def train_heavy_intents(
    encoder: Encoder, texts: Sequence[str], labels: Sequence[str], *, training: Encoder | None = None
) -> HeavyIntentModel:
    """As ``tenant_intents.train_intents``, on n-grams + ``encoder``'s vectors. ``training`` (the
    same encoder behind a disk cache, say) encodes the training texts instead; the model predicts
    with ``encoder``."""
    validate_examples(texts, labels)
    live, encoder = encoder, training or encoder
    train_idx, held_idx = stratified_split(labels, HOLDOUT, SEED)
    held_metrics: dict[str, float] = {}
    threshold = 0.0
    if held_idx and len({labels[i] for i in train_idx}) >= 2:
        featurizer, model = _fit(encoder, [texts[i] for i in train_idx], [labels[i] for i in train_idx])
        probabilities = model.predict_proba(_features(featurizer, encoder, [texts[i] for i in held_idx]))
        classes = [str(c) for c in model.classes_]
        predicted = [classes[int(i)] for i in probabilities.argmax(axis=1)]
        gold = [labels[i] for i in held_idx]
        threshold = _threshold(probabilities.max(axis=1), predicted, gold)
        final = [
            OOS if t < threshold else p
            for t, p in zip(probabilities.max(axis=1).tolist(), predicted, strict=True)
        ]
        held_metrics = {k: round(v, 4) for k, v in metrics.intent(gold, final).items()}
        held_metrics["held_out"] = float(len(held_idx))
    featurizer, model = _fit(encoder, texts, labels)
    return HeavyIntentModel(featurizer, live, model, threshold, held_metrics)


__all__ = ["HeavyIntentModel", "train_heavy_intents"]
