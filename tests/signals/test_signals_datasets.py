"""Sanity floors on the shared evaluation data, where it exists on this machine (skipped elsewhere).

These are regression guards for the hand-set weights, not benchmarks: the floors sit a little
below the values measured when the tier was written (see the module docstrings of style.py and
tactful.guard.injection)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tactful.guard import GuardLimits, guard
from tactful.signals import LexiconTier

DATA = Path("/work/shared/data")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared evaluation data not present")


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    return float(cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _detokenise(sentence: str) -> str:
    sentence = re.sub(r" (n't|'s|'m|'re|'ll|'ve|'d)\b", r"\1", sentence)
    return re.sub(r" ([.,!?;:%)])", r"\1", sentence)


@pytest.fixture(scope="module")
def tier() -> LexiconTier:
    return LexiconTier()


def test_formality_spearman_on_pavlick(tier: LexiconTier) -> None:
    path = DATA / "pavlick-formality" / "formality_visible.csv"
    rows = [r for r in _rows(path) if r["n_annotators"] != "0"]
    predicted = [tier.extract(_detokenise(r["sentence"])).formality for r in rows]
    assert spearman(predicted, [float(r["avg_score"]) for r in rows]) > 0.55  # measured 0.61


def test_politeness_on_stanford_wikipedia(tier: LexiconTier) -> None:
    path = DATA / "stanford-politeness" / "politeness_visible.csv"
    rows = [r for r in _rows(path) if r["source"] == "wikipedia"]
    binary = [r for r in rows if r["quartile_label"] != "middle"]
    correct = sum(
        (tier.extract(r["request"]).politeness >= 0.5) == (r["quartile_label"] == "polite") for r in binary
    )
    assert correct / len(binary) > 0.68  # measured 0.73


def test_injection_heuristic_on_deepset_train() -> None:
    path = DATA / "deepset-prompt-injections" / "train.csv"
    limits = GuardLimits(max_chars=100_000, max_bytes=1_000_000)
    tp = fp = fn = 0
    for row in _rows(path):
        flagged = guard(row["text"], limits).injection >= 0.5
        actual = row["label"] == "1"
        tp += flagged and actual
        fp += flagged and not actual
        fn += actual and not flagged
    assert tp / (tp + fp) > 0.95  # measured 0.99
    assert tp / (tp + fn) > 0.55  # measured 0.64


def test_real_support_messages_are_not_flagged_as_injection() -> None:
    conversations = json.loads((DATA / "twitter-customer-care-cdp" / "dev.json").read_text(encoding="utf-8"))
    messages = [t["message"] for c in conversations for t in c["dialogContent"] if "client" in t]
    assert len(messages) == 606
    assert sum(guard(m).injection >= 0.5 for m in messages) == 0
