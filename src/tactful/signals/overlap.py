"""Which texts each shipped head was trained on, as fingerprints, so ``tactful eval`` can warn when
the file it measures on overlaps the training data (a figure on seen rows is not a dev figure).

``models/trained-<tier>.npz`` holds, per signal, the sorted 64-bit fingerprints (BLAKE2b of the
case-folded, whitespace-folded text) of every training text: no text is stored, and a collision
between different texts is about one in 10^14 per pair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]


def fingerprint(text: str) -> int:
    normal = " ".join(text.casefold().split())
    return int.from_bytes(hashlib.blake2b(normal.encode("utf-8"), digest_size=8).digest(), "big")


def fingerprints(texts: Iterable[str]) -> U64:
    return np.unique(np.fromiter((fingerprint(t) for t in texts), dtype=np.uint64))


def path_for(directory: Path, tier: str) -> Path:
    return directory / f"trained-{tier}.npz"


def read(directory: Path, tier: str) -> dict[str, U64]:
    path = path_for(directory, tier)
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def record(directory: Path, tier: str, by_signal: Mapping[str, Sequence[str]]) -> None:
    """Store the training texts' fingerprints of the signals just trained (others are kept)."""
    found = read(directory, tier)
    found |= {signal: fingerprints(texts) for signal, texts in by_signal.items()}
    arrays: dict[str, Any] = dict(sorted(found.items()))
    with path_for(directory, tier).open("wb") as handle:
        np.savez_compressed(handle, **arrays)


def overlap(directory: Path, tier: str, texts: Sequence[str]) -> dict[str, int]:
    """Signal → how many of ``texts`` its head was trained on (signals with none left out)."""
    if not texts:
        return {}
    probe = np.fromiter((fingerprint(t) for t in texts), dtype=np.uint64, count=len(texts))
    counts = {}
    for signal, seen in read(directory, tier).items():
        n = int(np.isin(probe, seen).sum())
        if n:
            counts[signal] = n
    return counts
