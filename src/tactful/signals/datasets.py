"""Reading labelled data: CSV or TSV by extension, the shared data sets by name, fixed-seed splits.

The shared data directory is ``$TACTFUL_DATA_DIR`` or ``../shared/data`` beside the checkout. The
data is only read, never copied: ``tactful train`` rebuilds the shipped artifacts from it.
"""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from tactful.errors import InputRejected

GOEMOTIONS_COLUMNS: Final = ("text", "labels", "id")


def data_dir() -> Path:
    """Where the shared data sets live: ``$TACTFUL_DATA_DIR``, else ``../shared/data`` from the repo."""
    configured = os.environ.get("TACTFUL_DATA_DIR")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "data"


def read_table(path: Path, *, header: bool = True) -> list[dict[str, str]]:
    """Rows of a CSV (``.csv``) or TSV (``.tsv``/``.tab``) file as dicts keyed by the header.

    Without a header (GoEmotions' files) columns are named ``text, labels, id`` … then ``col<i>``.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        delimiter = ","
    elif suffix in (".tsv", ".tab"):
        delimiter = "\t"
    else:
        raise InputRejected(f"{path}: expected a .csv or .tsv file", code="bad_data_file")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            rows = list(reader)
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file", code="bad_data_file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputRejected(f"{path}: not a readable UTF-8 table ({exc})", code="bad_data_file") from None
    if not rows:
        raise InputRejected(f"{path}: empty file", code="bad_data_file")
    if header:
        names, body = rows[0], rows[1:]
    else:
        width = max(len(r) for r in rows)
        names = [GOEMOTIONS_COLUMNS[i] if i < len(GOEMOTIONS_COLUMNS) else f"col{i}" for i in range(width)]
        body = rows
    return [dict(zip(names, row, strict=False)) for row in body]


def column(rows: Sequence[dict[str, str]], name: str, path: Path | str = "data") -> list[str]:
    """One column's values; a clear error naming the columns there are when it is missing."""
    if rows and name not in rows[0]:
        raise InputRejected(f"{path}: no column {name!r} (columns: {', '.join(rows[0])})", code="bad_column")
    return [row.get(name) or "" for row in rows]


def stratified_split(labels: Sequence[str], dev_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices (train, dev): per label, a seeded shuffle and the first ``round(f·n)`` go to dev."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    dev: list[int] = []
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        dev.extend(members[: round(dev_fraction * len(members))])
    dev_set = set(dev)
    return [i for i in range(len(labels)) if i not in dev_set], sorted(dev)


def kfold(labels: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """``k`` stratified folds of row indices (round-robin over a seeded shuffle within each label)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    position = 0
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        for i in members:
            folds[position % k].append(i)
            position += 1
    return [sorted(f) for f in folds]
