"""``tactful eval <task>``: run a tier over a labelled file, one message at a time, and measure.

Each message goes through the tier's full ``extract`` (every signal, as in production), timed on
its own, so the latency percentiles are per message for the whole tier. Metrics come from
``metrics.py``; predictions can be written out so anyone can recompute them.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from tactful.domain import Signals
from tactful.errors import InputRejected
from tactful.signals import metrics
from tactful.signals.recipes import OTHER

TASKS: Final = ("sentiment", "emotion", "intent", "formality", "politeness", "injection", "anger")
ANGRY: Final = 0.5  # the default policy's angry_anger threshold: a message at or above it reads as angry
# The heads a task's figure depends on (for the training-overlap warning).
TASK_SIGNALS: Final = {"emotion": ("emotion", "emotions"), "anger": ("emotion", "emotions")}
SENTIMENTS: Final = ("negative", "neutral", "positive")


@dataclass
class Outcome:
    result: dict[str, Any]
    predictions: list[str | float | int]


def _timed(fn: Callable[[str], Any], texts: Sequence[str]) -> tuple[list[Any], dict[str, float]]:
    outputs: list[Any] = []
    took: list[float] = []
    for text in texts:
        start = time.perf_counter_ns()
        outputs.append(fn(text))
        took.append((time.perf_counter_ns() - start) / 1e6)
    return outputs, {
        "latency_p50_ms": round(float(np.percentile(took, 50)), 4),
        "latency_p99_ms": round(float(np.percentile(took, 99)), 4),
    }


def _version(signals: Signals, signal: str) -> str:
    return signals.model_versions.get(signal) or next(iter(signals.model_versions.values()), signals.tier)


def evaluate(
    task: str,
    extract: Callable[[str], Signals],
    texts: Sequence[str],
    gold: Sequence[str],
    *,
    classes: Sequence[str] | None = None,
) -> Outcome:
    """Metrics of ``task`` for a tier's ``extract`` on (texts, gold). ``classes`` is politeness's
    ``--class-col`` (polite/impolite/other)."""
    if not texts:
        raise InputRejected("the data file has no rows", code="bad_data_file")
    _check_gold(task, gold)
    signals, latency = _timed(extract, texts)
    first: Signals = signals[0]
    result: dict[str, Any] = {"task": task, "n": len(texts), "tier": first.tier}
    predictions: list[Any]
    if task == "sentiment":
        predictions = [s.sentiment.value for s in signals]
        result |= metrics.classification(gold, predictions)
    elif task == "emotion":
        present = sorted(set(gold))
        missing = [label for label in present if label not in first.emotions]
        if missing:
            raise InputRejected(
                f"labels {missing} are not emotions this tier reports ({', '.join(sorted(first.emotions))})",
                code="bad_labels",
            )
        predictions = [max(present, key=lambda label: s.emotions[label]) for s in signals]
        result |= {k: v for k, v in metrics.classification(gold, predictions).items() if k != "macro_recall"}
    elif task == "intent":
        has_oos = metrics.OOS in gold
        predictions = [metrics.OOS if has_oos and s.intent == OTHER else s.intent for s in signals]
        result |= metrics.intent(gold, predictions)
    elif task in ("formality", "politeness"):
        predictions = [getattr(s, task) for s in signals]
        result["spearman"] = metrics.spearman([float(g) for g in gold], predictions)
        if task == "politeness" and classes is not None:
            pairs = [
                (p >= 0.5, c == "polite")
                for p, c in zip(predictions, classes, strict=True)
                if c in ("polite", "impolite")
            ]
            if pairs:
                result["binary_accuracy"] = sum(p == g for p, g in pairs) / len(pairs)
                result["n_binary"] = len(pairs)
    elif task == "injection":
        predictions = [int(s.injection >= 0.5) for s in signals]
        result |= metrics.binary([int(g) for g in gold], predictions)
    elif task == "anger":
        predictions = [int(s.anger >= ANGRY) for s in signals]
        result |= metrics.binary([int(g) for g in gold], predictions)
    else:
        raise InputRejected(f"unknown task {task!r}; expected one of {', '.join(TASKS)}", code="bad_task")
    result["model_version"] = _version(first, task if task != "politeness" else "politeness")
    result |= latency
    return Outcome(result, predictions)


def by_group(
    task: str, gold: Sequence[str], predictions: Sequence[Any], groups: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The task's headline metrics per group (e.g. per language of a ``lang`` column)."""
    found: dict[str, dict[str, Any]] = {}
    for group in sorted(set(groups)):
        rows = [i for i, g in enumerate(groups) if g == group]
        g = [gold[i] for i in rows]
        p = [predictions[i] for i in rows]
        if task in ("sentiment", "emotion"):
            m = metrics.classification(g, [str(x) for x in p])
            found[group] = {"n": len(rows), "macro_f1": m["macro_f1"], "accuracy": m["accuracy"]}
        elif task == "intent":
            found[group] = {
                "n": len(rows),
                "accuracy": sum(a == b for a, b in zip(g, p, strict=True)) / len(rows),
            }
        elif task in ("anger", "injection"):
            found[group] = {"n": len(rows), **metrics.binary([int(x) for x in g], [int(x) for x in p])}
    return found


def evaluate_predictor(
    task: str,
    predict: Callable[[str], str],
    texts: Sequence[str],
    gold: Sequence[str],
    *,
    tier: str,
    version: str,
) -> Outcome:
    """Intent metrics for a plain text → label function (a tenant intent model)."""
    predictions, latency = _timed(predict, texts)
    result: dict[str, Any] = {"task": task, "n": len(texts), "tier": tier}
    result |= metrics.intent(gold, predictions)
    result["model_version"] = version
    result |= latency
    return Outcome(result, predictions)


def vader_baseline(texts: Sequence[str], gold: Sequence[str]) -> dict[str, Any]:
    """VADER's compound score with its authors' ±0.05 thresholds, on the same rows."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def label(text: str) -> str:
        compound = analyzer.polarity_scores(text)["compound"]
        return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"

    predictions, latency = _timed(label, texts)
    return {"model_version": "vader-3.3.2", **metrics.classification(gold, predictions), **latency}


def _check_gold(task: str, gold: Sequence[str]) -> None:
    if task == "sentiment":
        bad = sorted(set(gold) - set(SENTIMENTS))
        if bad:
            raise InputRejected(
                f"sentiment labels must be negative/neutral/positive, got {bad[:5]}", code="bad_labels"
            )
    elif task in ("injection", "anger"):
        bad = sorted(set(gold) - {"0", "1"})
        if bad:
            raise InputRejected(f"{task} labels must be 0 or 1, got {bad[:5]}", code="bad_labels")
    elif task in ("formality", "politeness"):
        for value in gold:
            try:
                float(value)
            except ValueError:
                raise InputRejected(
                    f"{task} labels must be numbers, got {value!r}", code="bad_labels"
                ) from None


def write_predictions(path: Path, gold: Sequence[str], predictions: Sequence[Any]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "gold", "pred"])
        for i, (g, p) in enumerate(zip(gold, predictions, strict=True)):
            writer.writerow([i, g, round(p, 6) if isinstance(p, float) else p])
