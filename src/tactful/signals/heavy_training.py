"""Training the heavy tiers' heads: hashed n-grams and sentence vectors side by side.

``train_heavy(tier, encoder)`` fits, for each signal in ``HEAVY_SIGNALS[tier]``, a linear head over
``[hashed n-grams (signals/hashed.py) | the tier's sentence vectors]`` with the shared recipes'
data, splits and metrics (``training.py``'s fitting and evaluation code), and:

- the multilingual tier's **sentiment** also learns from UMSAB's tweets in es/de/fr/it/pt (train
  split only); its dev figures add UMSAB val macro-F1 per language beside the TweetEval
  cross-validation, and a 5-fold cross-validation over UMSAB train + val per language (the
  transformer tier reads English turns only and learns from the English data);
- one GoEmotions comment in four is used (``GOEMOTIONS_SHARE``);
- the regularisation is the one chosen for these features (``HEAVY_C``);
- the other signals are not trained here: the tier takes them from the fast tier (``heavy.py``).

The encoder's vectors can be cached on disk (``encode_cache.py``): a rebuild then costs minutes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped]

from tactful.signals import metrics
from tactful.signals.base import Encoder
from tactful.signals.datasets import data_dir, kfold, read_table
from tactful.signals.hashed import HashedNgrams
from tactful.signals.heads import Head, HeadSet, quantised
from tactful.signals.recipes import RECIPES, SEED, Recipe, Split
from tactful.signals.training import (
    CV_FOLDS,
    IN_DOMAIN_WEIGHT,
    Trained,
    _cross_validate,
    _fit,
    _scores,
    calibrated_head,
)

UMSAB: Final = "umsab-multilingual-sentiment"
UMSAB_LANGUAGES: Final = ("es", "de", "fr", "it", "pt")
#: The heads each heavy tier trains; every other field comes from the fast tier.
HEAVY_SIGNALS: Final[dict[str, tuple[str, ...]]] = {
    "multilingual": ("sentiment", "emotion"),
    "transformer": ("sentiment", "emotion", "politeness"),
}
#: C (logistic) or alpha (ridge) per head on these features (docs/models/ says how they were chosen).
HEAVY_C: Final[dict[str, float]] = {"sentiment": 1.0, "emotion": 3.0, "politeness": 10.0}
Progress = Callable[[str], None]


#: Of GoEmotions' Reddit comments, the heavy heads learn from one in ``GOEMOTIONS_SHARE`` (chosen by
#: the text's SHA-256, so the same rows on every machine): encoding all 43,000 with the transformer
#: costs ~20 CPU-minutes, and the heads' dev figures are on tweets, not Reddit.
GOEMOTIONS_SHARE: Final = 4


def _kept(text: str) -> bool:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % GOEMOTIONS_SHARE == 0


def _thin_goemotions(split: Split, goemotions: set[str]) -> Split:
    keep = [i for i, t in enumerate(split.texts) if t not in goemotions or _kept(t)]
    weights = split.weights or [1.0] * len(split.texts)
    return Split(
        [split.texts[i] for i in keep],
        [str(split.labels[i]) for i in keep],
        [weights[i] for i in keep],
    )


def umsab_rows(root: Path, split: str) -> list[dict[str, str]]:
    return read_table(root / UMSAB / f"{split}.csv")


def _sentiment_with_umsab(root: Path) -> Recipe:
    """The sentiment recipe (which has UMSAB train since the fast tier learnt the five languages
    too), its note saying that UMSAB val is reported per language."""
    recipe = RECIPES["sentiment"](root)
    return replace(recipe, dev_note=recipe.dev_note + " UMSAB val is reported per language beside it.")


def heavy_recipe(signal: str, root: Path, tier: str = "multilingual") -> Recipe:
    """The shared recipe of ``signal`` (the multilingual tier's sentiment with UMSAB added;
    GoEmotions thinned for sentiment and emotion) with this tier's regularisation where one was
    chosen; a head not trained by default (``tactful train intent --tier transformer``, say) keeps
    its recipe's. The transformer tier reads English turns only (``selection.DEFAULT_GATES``), so
    its sentiment head learns from the English data alone."""
    multilingual = signal == "sentiment" and tier == "multilingual"
    recipe = _sentiment_with_umsab(root) if multilingual else RECIPES[signal](root)
    if signal in ("sentiment", "emotion"):
        goemotions = {row["text"] for row in read_table(root / "goemotions" / "train.tsv", header=False)}
        recipe = replace(
            recipe,
            train=_thin_goemotions(recipe.train, goemotions),
            dev_note=recipe.dev_note
            + f" GoEmotions rows: one in {GOEMOTIONS_SHARE} (by SHA-256 of the text).",
        )
    return replace(recipe, regularisation=HEAVY_C.get(signal, recipe.regularisation))


class Features:
    """Rows ``[hashed n-grams | sentence vectors]`` as one CSR matrix; each text computed once."""

    def __init__(self, hashed: HashedNgrams, encoder: Encoder) -> None:
        self.hashed, self.encoder = hashed, encoder
        self._rows: dict[str, int] = {}
        self._blocks: list[csr_matrix] = []
        self._matrix: csr_matrix | None = None

    def __call__(self, texts: Sequence[str]) -> csr_matrix:
        new = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if new:
            dense = csr_matrix(np.asarray(self.encoder.encode(new), dtype=np.float32))
            self._blocks.append(csr_matrix(hstack([self.hashed.transform(new), dense], format="csr")))
            for text in new:
                self._rows[text] = len(self._rows)
            self._matrix = None
        if self._matrix is None:
            from scipy.sparse import vstack

            self._matrix = csr_matrix(vstack(self._blocks, format="csr"))
            self._blocks = [self._matrix]
        return self._matrix[[self._rows[t] for t in texts]]


def train_heavy(
    tier: str,
    encoder: Encoder,
    signals: Sequence[str] | None = None,
    *,
    root: Path | None = None,
    hashed: HashedNgrams | None = None,
    progress: Progress = lambda _: None,
) -> tuple[Trained, HashedNgrams]:
    """Fit the heads of ``signals`` (default: the tier's) and measure them on their dev splits.
    ``hashed`` keeps an existing artifact's n-gram IDF (retraining one head beside the others);
    without it the IDF is learnt from the chosen recipes' training texts."""
    root = root or data_dir()
    chosen = list(signals or HEAVY_SIGNALS[tier])
    progress("reading data")
    recipes = {signal: heavy_recipe(signal, root, tier) for signal in chosen}
    if hashed is None:
        progress("fitting the n-gram IDF")
        hashed = HashedNgrams.fit(list(dict.fromkeys(t for r in recipes.values() for t in r.train.texts)))
    features = Features(hashed, encoder)
    coefs, biases, heads, figures, start = [], [], {}, {}, 0
    for signal, recipe in recipes.items():
        progress(f"training {signal}")
        x_train = features(recipe.train.texts)
        y_train: list[Any] = [*recipe.train.labels]
        w_train = list(recipe.train.weights) if recipe.train.weights else None
        x_dev = features(recipe.dev.texts)
        if recipe.in_domain is not None:
            dev_z, dev_gold = _cross_validate(recipe, x_train, y_train, w_train, x_dev)
            final_w = (w_train or [1.0] * len(y_train)) + [IN_DOMAIN_WEIGHT] * len(recipe.in_domain.labels)
            fitted = _fit(
                recipe,
                csr_matrix(_vstack(x_train, x_dev)),
                y_train + list(recipe.in_domain.labels),
                final_w,
            )
            protocol = f"{CV_FOLDS}-fold cross-validation"
        else:
            fitted = _fit(recipe, x_train, y_train, w_train)
            dev_z, dev_gold = _scores(fitted, x_dev), [*recipe.dev.labels]
            protocol = "held-out dev split"
        width = fitted.coef.shape[1]
        head, figures[signal] = calibrated_head(signal, tier, recipe, fitted, dev_z, dev_gold)
        figures[signal].update(
            protocol=protocol,
            n_train=len(y_train),
            features="hashed word 1-2 + char 2-5 n-grams | " + encoder.version,
        )
        if signal == "sentiment" and tier == "multilingual":
            progress("measuring sentiment on UMSAB")
            figures[signal] |= umsab_figures(recipe, fitted, head, features, root)
        heads[signal] = replace(head, start=start, stop=start + width)
        coefs.append(fitted.coef)
        biases.append(fitted.bias)
        start += width
    head_set = HeadSet(
        weights=quantised(np.hstack(coefs)),
        bias=np.concatenate(biases).astype(np.float32),
        heads=heads,
        meta={"tier": tier, "seed": SEED, "encoder": encoder.version, "hashed_columns": hashed.width},
    )
    return Trained(head_set, figures), hashed


def _vstack(a: csr_matrix, b: csr_matrix) -> csr_matrix:
    from scipy.sparse import vstack

    return vstack([a, b], format="csr")


def umsab_figures(recipe: Recipe, fitted: Any, head: Head, features: Features, root: Path) -> dict[str, Any]:
    """UMSAB macro-F1 per language, their mean and minimum: on val with the shipped head (which
    never saw val), and by 5-fold cross-validation over UMSAB train + val (stratified by language
    and label) with heads of the same features and regularisation trained on the other UMSAB folds
    only — the English rows are left out of these fold models to keep the check to minutes, so it
    measures the features on the five languages, a little below what the shipped head does."""
    val = umsab_rows(root, "val")
    z = _scores(fitted, features([r["text"] for r in val]))
    found = _per_language(val, [head.labels[i] for i in z.argmax(axis=1)], "val")
    everything = umsab_rows(root, "train") + val
    gold = [r["label_name"] for r in everything]
    x_all = features([r["text"] for r in everything])
    predicted = [""] * len(everything)
    strata = [r["lang"] + "/" + g for r, g in zip(everything, gold, strict=True)]
    for fold in kfold(strata, CV_FOLDS, SEED):
        held = set(fold)
        keep = [i for i in range(len(everything)) if i not in held]
        model = _fit(recipe, x_all[keep], [gold[i] for i in keep], None)
        for i, label in zip(fold, _scores(model, x_all[fold]).argmax(axis=1), strict=True):
            predicted[i] = model.labels[int(label)]
    found |= _per_language(everything, predicted, "cv")
    return found


def _per_language(rows: list[dict[str, str]], predicted: list[str], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for lang in UMSAB_LANGUAGES:
        idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
        gold = [rows[i]["label_name"] for i in idx]
        found[f"umsab_{kind}_{lang}_macro_f1"] = metrics.classification(gold, [predicted[i] for i in idx])[
            "macro_f1"
        ]
    per = [found[f"umsab_{kind}_{lang}_macro_f1"] for lang in UMSAB_LANGUAGES]
    found[f"umsab_{kind}_mean_macro_f1"] = float(np.mean(per))
    found[f"umsab_{kind}_min_macro_f1"] = float(min(per))
    found[f"umsab_{kind}_n"] = len(rows)
    return found


def train_heavy_tier(
    tier: str,
    signals: Sequence[str] | None,
    root: Path | None,
    cache: Path | None,
    export_encoder: bool,
    hashed: HashedNgrams | None = None,
    progress: Progress = lambda _: None,
) -> tuple[Trained, HashedNgrams]:
    """What ``tactful train <signal> --tier multilingual|transformer`` runs. With
    ``export_encoder`` (``train all``) the transformer's numpy weights are exported again first
    from the bundled package, when it is installed (deterministic: the same bytes)."""
    from tactful.signals.encode_cache import CachedEncoder
    from tactful.signals.encoders import load_encoder
    from tactful.signals.heavy import HEAVY_ENCODERS, Concatenated

    if export_encoder and "transformer" in HEAVY_ENCODERS[tier]:
        from tactful.signals.base import TierUnavailable
        from tactful.signals.minilm import export

        try:
            progress("exporting the transformer encoder")
            export()
        except TierUnavailable as exc:
            progress(f"keeping the shipped transformer encoder ({exc})")
    parts: list[Encoder] = []
    for name in HEAVY_ENCODERS[tier]:
        encoder = load_encoder(name)
        parts.append(CachedEncoder(encoder, cache, progress) if cache is not None else encoder)
    return train_heavy(tier, Concatenated(tier, parts), signals, root=root, hashed=hashed, progress=progress)


__all__ = [
    "HEAVY_C",
    "HEAVY_SIGNALS",
    "UMSAB_LANGUAGES",
    "Features",
    "heavy_recipe",
    "train_heavy",
    "train_heavy_tier",
    "umsab_figures",
]
