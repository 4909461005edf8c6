"""Standard evaluation metrics, as fractions in [0, 1], on top of scikit-learn and SciPy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr  # type: ignore[import-untyped]
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support, recall_score  # type: ignore[import-untyped]

OOS = "oos"


def classification(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Macro-recall (TweetEval's sentiment metric), macro-F1 and accuracy over the gold labels' set.

    Macro averages run over the labels that occur in ``gold``: a predicted label that never occurs
    in the gold data counts as an error but adds no class of its own.
    """
    _check(gold, pred)
    labels = sorted(set(gold))
    return {
        "macro_recall": float(recall_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(gold, pred)),
    }


def binary(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    """Precision, recall and F1 of the positive class (1), and accuracy."""
    _check(gold, pred)
    p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=[1], average=None, zero_division=0)
    return {
        "precision": float(p[0]),
        "recall": float(r[0]),
        "f1": float(f[0]),
        "accuracy": float(accuracy_score(gold, pred)),
    }


def spearman(gold: Sequence[float], pred: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get average ranks); 0 when either side is constant."""
    _check(gold, pred)
    if len(set(gold)) < 2 or len(set(pred)) < 2:
        return 0.0
    return float(spearmanr(np.asarray(gold), np.asarray(pred)).statistic)


def intent(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Accuracy; with out-of-scope rows (label ``oos``) also CLINC150's in-scope accuracy and oos recall."""
    _check(gold, pred)
    result = {"accuracy": float(accuracy_score(gold, pred))}
    in_scope = [(g, p) for g, p in zip(gold, pred, strict=True) if g != OOS]
    out_of_scope = [p for g, p in zip(gold, pred, strict=True) if g == OOS]
    if out_of_scope:
        result["in_scope_accuracy"] = sum(g == p for g, p in in_scope) / len(in_scope) if in_scope else 0.0
        result["oos_recall"] = sum(p == OOS for p in out_of_scope) / len(out_of_scope)
    return result


def _check(gold: Sequence[object], pred: Sequence[object]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    if not gold:
        raise ValueError("no rows to evaluate")
