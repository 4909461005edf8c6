"""Checking the tone scorer against hand labels (``bench/data/tone_labels.yaml``, rubric in
docs/tone.md): per attribute, the mean absolute error, the share within the renderer's tolerance
and Spearman's rank correlation, on the dev rows (used to set the scorer's constants) and the
check rows (not used). Real agent replies are read from the shared data folder at run time."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tactful.domain import TONE_ATTRIBUTES, ToneAttribute

TWEETSUMM = Path("tweetsumm/tweetsumm_visible.jsonl")


@dataclass(frozen=True, slots=True)
class LabelledReply:
    text: str
    language: str
    labels: dict[ToneAttribute, float]
    source: str  # "tweetsumm:<conversation>:<turn>" or "written:<language>:<index>"
    split: str  # "dev" | "check"


def load_labels(path: Path, data_dir: Path | None) -> list[LabelledReply]:
    """The labelled replies; the tweetsumm rows only when ``data_dir`` holds the data set."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows: list[LabelledReply] = []
    turns: dict[str, list[str]] = {}
    source = None if data_dir is None else data_dir / TWEETSUMM
    if source is not None and source.is_file():
        for line in source.read_text(encoding="utf-8").splitlines():
            conv = json.loads(line)
            turns[conv["conversation_id"]] = [t["text"] for t in conv["turns"]]
        for item in doc.get("tweetsumm", []):
            text = turns[item["conversation_id"]][item["turn"]]
            rows.append(
                _row(text, "en", item["labels"], f"tweetsumm:{item['conversation_id']}:{item['turn']}")
            )
    for language, items in doc.get("written", {}).items():
        for i, item in enumerate(items):
            rows.append(_row(item["text"], str(language), item["labels"], f"written:{language}:{i}"))
    return [
        LabelledReply(r.text, r.language, r.labels, r.source, "dev" if i % 2 == 0 else "check")
        for i, r in enumerate(rows)
    ]


def _row(text: str, language: str, labels: Sequence[float], source: str) -> LabelledReply:
    # A tweet's leading @handle and trailing agent initials ("^AJ", "/KL", "- Josh") are addressing,
    # not wording.
    words = text.split()
    while words and words[0].startswith("@"):
        words.pop(0)
    if words and (words[-1][:1] in "^/-" or words[-1].startswith("-")):
        words.pop()
    clean = " ".join(words).replace("&gt;", ">").replace("&amp;", "&")
    return LabelledReply(
        clean, language, dict(zip(TONE_ATTRIBUTES, map(float, labels), strict=True)), source, ""
    )


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    def ranks(values: Sequence[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


@dataclass(frozen=True, slots=True)
class AttributeCheck:
    n: int
    mae: float
    within: float  # share with |score - label| <= tolerance
    spearman: float


def check_scorer(
    rows: Sequence[LabelledReply],
    score: Callable[[str, str], dict[ToneAttribute, float]],
    tolerance: float = 0.15,
) -> dict[ToneAttribute, AttributeCheck]:
    scored = [(row, score(row.text, row.language)) for row in rows]
    out: dict[ToneAttribute, AttributeCheck] = {}
    for attribute in TONE_ATTRIBUTES:
        labels = [row.labels[attribute] for row, _ in scored]
        values = [s[attribute] for _, s in scored]
        errors = [abs(a - b) for a, b in zip(labels, values, strict=True)]
        out[attribute] = AttributeCheck(
            n=len(errors),
            mae=round(sum(errors) / len(errors), 3),
            within=round(sum(e <= tolerance for e in errors) / len(errors), 3),
            spearman=round(spearman(values, labels), 3),
        )
    return out
