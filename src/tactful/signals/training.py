"""Training the shipped heads from the recipes, and measuring them on their dev splits.

``train_tier("fast")`` builds the shared vocabulary and every head; ``train_tier("embed")`` fits the
same heads on a sentence encoder's vectors. Solvers are deterministic (lbfgs, closed-form ridge)
and every split is seeded, so a rebuild gives the same predictions. Dev figures are computed with
the float16 weights that are written, i.e. with exactly what ships.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix, vstack  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression, Ridge  # type: ignore[import-untyped]

from tactful.signals import metrics
from tactful.signals.datasets import data_dir, kfold
from tactful.signals.featurize import Featurizer, Scheme, Vocabulary
from tactful.signals.heads import F32, Head, HeadSet, fit_temperature, quantised
from tactful.signals.recipes import OTHER, RECIPES, SEED, Recipe

MODEL_VERSION: Final = "1.0.0"
IN_DOMAIN_WEIGHT: Final = 3.0
CV_FOLDS: Final = 5
MAX_ITER: Final = 400  # lbfgs converges well before this on these problems; a bound on CPU time
POLITENESS_SCALE: Final = 2.0
Matrix: TypeAlias = Any  # a scipy CSR matrix (fast) or a dense float32 array (encoders)
Progress = Callable[[str], None]


@dataclass
class Fitted:
    coef: F32  # (features, columns)
    bias: F32
    labels: tuple[str, ...]


@dataclass
class Trained:
    heads: HeadSet
    figures: dict[str, dict[str, Any]]  # signal -> dev metrics, n, protocol
    # signal -> every text its shipped head was fitted on (for ``overlap.record``)
    training_texts: dict[str, list[str]] = field(default_factory=dict)


def _fit(recipe: Recipe, x: Matrix, y: Sequence[Any], weights: Sequence[float] | None) -> Fitted:
    if recipe.kind == "linear":
        ridge = Ridge(alpha=recipe.regularisation)
        ridge.fit(x, np.asarray(y, dtype=np.float64), sample_weight=weights)
        return Fitted(
            ridge.coef_.reshape(-1, 1).astype(np.float32),
            np.array([ridge.intercept_], np.float32),
            ("score",),
        )
    model = LogisticRegression(
        C=recipe.regularisation,
        max_iter=MAX_ITER,
        class_weight="balanced" if recipe.signal in ("sentiment", "emotion", "injection") else None,
    )
    model.fit(x, np.asarray(y), sample_weight=weights)
    classes = tuple(str(c) for c in model.classes_)
    coef, bias = model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)
    if coef.shape[1] == 1:  # binary: softmax over (0, z) is the logistic model's sigmoid
        coef = np.hstack([np.zeros_like(coef), coef])
        bias = np.array([0.0, bias[0]], np.float32)
    order = [classes.index(label) for label in recipe.labels]
    return Fitted(coef[:, order], bias[order], recipe.labels)


def _scores(fitted: Fitted, x: Matrix) -> F32:
    return np.asarray(x @ quantised(fitted.coef) + fitted.bias, dtype=np.float32)


def _evaluate(recipe: Recipe, head: Head, z: F32, gold: Sequence[Any]) -> dict[str, Any]:
    """The dev metrics of one head from its raw scores (columns already sliced to the head)."""
    if recipe.signal == "formality":
        return {"spearman": metrics.spearman(list(gold), head.raw(z).tolist())}
    if recipe.signal == "politeness":
        unit = head.unit(z)
        binary = [
            (u >= 0.5, c == "polite")
            for u, c in zip(unit.tolist(), recipe.dev_class, strict=True)
            if c != "middle"
        ]
        return {
            "spearman": metrics.spearman(list(gold), unit.tolist()),
            "binary_accuracy": sum(p == g for p, g in binary) / len(binary),
            "n_binary": len(binary),
        }
    predicted = [head.labels[i] for i in z.argmax(axis=1)]
    if recipe.signal == "injection":
        return metrics.binary([int(g) for g in gold], [int(p) for p in predicted])
    if recipe.signal == "intent":
        oos = ["oos" if label == OTHER else label for label in gold]
        found: dict[str, Any] = metrics.intent(
            oos, ["oos" if label == OTHER else label for label in predicted]
        )
        for group in dict.fromkeys(recipe.dev_groups):
            rows = [i for i, g in enumerate(recipe.dev_groups) if g == group]
            found[f"{group}_accuracy"] = sum(predicted[i] == gold[i] for i in rows) / len(rows)
            found[f"{group}_n"] = len(rows)
        return found
    return metrics.classification(list(gold), predicted)


def train_tier(
    tier: str,
    signals: Sequence[str] | None = None,
    *,
    root: Path | None = None,
    encode: Callable[[Sequence[str]], F32] | None = None,
    vocabulary: Vocabulary | None = None,
    progress: Progress = lambda _: None,
    scheme: Scheme = "additive",
) -> tuple[Trained, Vocabulary | None]:
    """Fit the heads of ``signals`` (default: all) for ``tier``.

    ``fast`` featurises with a ``Vocabulary`` (built from every recipe's training texts unless
    given) weighted by ``scheme`` (``featurize.py``); other tiers call ``encode`` (a sentence
    encoder) for dense vectors.
    """
    root = root or data_dir()
    chosen = list(signals or RECIPES)
    progress("reading data")
    recipes = {signal: RECIPES[signal](root) for signal in chosen}
    if tier == "fast" and vocabulary is None:
        progress("building the vocabulary")
        texts: list[str] = []
        for recipe in recipes.values():
            texts.extend(recipe.train.texts)
            if recipe.in_domain:
                texts.extend(recipe.in_domain.texts)
        vocabulary = Vocabulary.build(texts)
    cache: dict[str, int] = {}
    store: list[Matrix] = []  # one matrix of every text featurised so far (rows in cache order)

    def featurise(texts: Sequence[str]) -> Matrix:
        """Each distinct text is featurised once across recipes (GoEmotions feeds three heads)."""
        new = [t for t in dict.fromkeys(texts) if t not in cache]
        if new:
            if tier == "fast":
                assert vocabulary is not None
                block: Matrix = Featurizer(vocabulary, scheme).matrix(new)
            else:
                assert encode is not None
                block = np.asarray(encode(new), dtype=np.float32)
            for text in new:
                cache[text] = len(cache)
            store[:] = [_stack(tier, store[0], block) if store else block]
        return store[0][[cache[t] for t in texts]]

    coefs: list[F32] = []
    biases: list[F32] = []
    heads: dict[str, Head] = {}
    figures: dict[str, dict[str, Any]] = {}
    start = 0
    for signal, recipe in recipes.items():
        progress(f"training {signal}")
        x_train = featurise(recipe.train.texts)
        y_train: list[Any] = [*recipe.train.labels]
        w_train = list(recipe.train.weights) if recipe.train.weights else None
        x_dev = featurise(recipe.dev.texts)
        if recipe.in_domain is not None:
            dev_z, dev_gold = _cross_validate(recipe, x_train, y_train, w_train, x_dev)
            final_x = _stack(tier, x_train, x_dev)
            final_y = y_train + list(recipe.in_domain.labels)
            final_w = (w_train or [1.0] * len(y_train)) + [IN_DOMAIN_WEIGHT] * len(recipe.in_domain.labels)
            fitted = _fit(recipe, final_x, final_y, final_w)
            protocol = f"{CV_FOLDS}-fold cross-validation"
        else:
            fitted = _fit(recipe, x_train, y_train, w_train)
            dev_z, dev_gold = _scores(fitted, x_dev), [*recipe.dev.labels]
            protocol = "held-out dev split"
        width = fitted.coef.shape[1]
        head, figures[signal] = calibrated_head(signal, tier, recipe, fitted, dev_z, dev_gold)
        figures[signal].update(protocol=protocol, n_train=len(y_train))
        if signal == "sentiment":
            figures[signal] |= _umsab_val(head, fitted, featurise, root)
        for source, texts in recipe.negatives.items():
            figures[signal] |= _false_positives(source, head, _scores(fitted, featurise(texts)))
        heads[signal] = _replace(head, start=start, stop=start + width)
        coefs.append(fitted.coef)
        biases.append(fitted.bias)
        start += width
    head_set = HeadSet(
        weights=quantised(np.hstack(coefs)),
        bias=np.concatenate(biases).astype(np.float32),
        heads=heads,
        meta={"tier": tier, "seed": SEED, **({"features": scheme} if tier == "fast" else {})},
    )
    texts_by_signal = {
        signal: [*recipe.train.texts, *(recipe.in_domain.texts if recipe.in_domain else ())]
        for signal, recipe in recipes.items()
    }
    return Trained(head_set, figures, texts_by_signal), vocabulary


def calibrated_head(
    signal: str, tier: str, recipe: Recipe, fitted: Fitted, dev_z: F32, dev_gold: Sequence[Any]
) -> tuple[Head, dict[str, Any]]:
    """The head of ``fitted`` (temperature fitted on the dev scores for a softmax) and its dev
    figures; shared by the fast and the heavy tiers' training."""
    head = Head(
        name=f"{signal}-{tier}",
        version=MODEL_VERSION,
        kind="linear" if recipe.kind == "linear" else "softmax",
        labels=fitted.labels,
        start=0,
        stop=fitted.coef.shape[1],
        scale=POLITENESS_SCALE if signal == "politeness" else 1.0,
    )
    if head.kind == "softmax":
        gold_idx = np.array([head.labels.index(str(g)) for g in dev_gold])
        head = _replace(head, temperature=fit_temperature(dev_z, gold_idx))
    figures = {
        **_evaluate(recipe, head, dev_z, dev_gold),
        "n": len(dev_gold),
        "dev": recipe.dev_note,
        "data": recipe.data,
    }
    return head, figures


def _umsab_val(
    head: Head, fitted: Fitted, featurise: Callable[[Sequence[str]], Matrix], root: Path
) -> dict[str, Any]:
    """UMSAB val (es/de/fr/it/pt, never trained on) macro-F1 per language, as the heavy tiers report."""
    from tactful.signals.heavy_training import _per_language, umsab_rows

    val = umsab_rows(root, "val")
    z = _scores(fitted, featurise([r["text"] for r in val]))
    return _per_language(val, [head.labels[i] for i in z.argmax(axis=1)], "val")


FALSE_POSITIVE_THRESHOLDS: Final = (0.5, 0.7)  # 0.7 is the default policy's injection hand-off


def _false_positives(source: str, head: Head, z: F32) -> dict[str, Any]:
    """How often held-out ordinary messages score as injections (probability of label "1")."""
    p = head.probabilities(z)[:, head.labels.index("1")]
    found: dict[str, Any] = {f"{source}_n": len(p)}
    for threshold in FALSE_POSITIVE_THRESHOLDS:
        found[f"{source}_fpr_at_{threshold}"] = float((p >= threshold).mean()) if len(p) else 0.0
    return found


def _replace(head: Head, **changes: Any) -> Head:
    from dataclasses import replace

    return replace(head, **changes)


def _stack(tier: str, a: Matrix, b: Matrix) -> Matrix:
    if tier == "fast":
        return csr_matrix(vstack([a, b]))
    return np.vstack([a, b]).astype(np.float32)


def _cross_validate(
    recipe: Recipe, x_train: Matrix, y_train: list[Any], w_train: list[float] | None, x_in: Matrix
) -> tuple[F32, list[str]]:
    """Out-of-fold scores for the in-domain rows: each fold's model never saw that fold."""
    assert recipe.in_domain is not None
    gold = [str(label) for label in recipe.in_domain.labels]
    scores = np.zeros((len(gold), len(recipe.labels)), dtype=np.float32)
    base_w = w_train or [1.0] * len(y_train)
    for fold in kfold(gold, CV_FOLDS, SEED):
        held = set(fold)
        keep = [i for i in range(len(gold)) if i not in held]
        x = _stack("fast" if isinstance(x_train, csr_matrix) else "dense", x_train, x_in[keep])
        fitted = _fit(recipe, x, y_train + [gold[i] for i in keep], base_w + [IN_DOMAIN_WEIGHT] * len(keep))
        scores[fold] = _scores(fitted, x_in[fold])
    return scores, gold


def merge(old: HeadSet | None, new: HeadSet) -> HeadSet:
    """``new``'s heads replacing the same signals in ``old`` (retraining one signal keeps the rest)."""
    parts: dict[str, tuple[Head, F32, F32]] = {}
    for source in (old, new):
        if source is None:
            continue
        for signal, head in source.heads.items():
            parts[signal] = (
                head,
                source.weights[:, head.start : head.stop],
                source.bias[head.start : head.stop],
            )
    heads: dict[str, Head] = {}
    start = 0
    for signal, (head, _, _) in parts.items():
        heads[signal] = _replace(head, start=start, stop=start + head.stop - head.start)
        start = heads[signal].stop
    return HeadSet(
        weights=np.hstack([w for _, w, _ in parts.values()]).astype(np.float32),
        bias=np.concatenate([b for _, _, b in parts.values()]).astype(np.float32),
        heads=heads,
        meta={**(old.meta if old else {}), **new.meta},
    )


def save(heads: HeadSet, path: Path, vocabulary: Vocabulary | None) -> None:
    """Write the artifact: weights, and for ``fast`` the vocabulary (newline-joined UTF-8) and IDF."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    if vocabulary is not None:
        arrays["terms"] = np.frombuffer("\n".join(vocabulary.terms).encode("utf-8"), dtype=np.uint8)
        arrays["idf"] = vocabulary.idf.astype(np.float16)
    heads.save(path, **arrays)
