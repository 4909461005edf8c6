"""An on-disk cache of sentence vectors for training: each text is encoded once per encoder version.

Training the heavy tiers reads ~110,000 texts; the numpy transformer takes ~10 ms a text on one
core, so a rebuild without a cache costs ~20 CPU-minutes per encoder. ``CachedEncoder`` wraps an
``Encoder`` and keeps every vector it computed in ``<directory>/<encoder version>/`` (a key per
text, SHA-256 of its UTF-8 bytes, and one float32 matrix), written after each call that encoded
something new. A different encoder version never reads another's vectors. The cache is only a
time saver: the vectors are exactly what the encoder returns, so a rebuild with or without it
gives the same heads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tactful.signals.base import Encoder, Vectors

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]")
#: Texts encoded per call to the wrapped encoder (progress is reported between chunks).
CHUNK = 2048


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachedEncoder:
    """Implements ``Encoder`` over ``encoder`` with a disk cache. Not thread-safe (training only)."""

    def __init__(
        self, encoder: Encoder, directory: Path, progress: Callable[[str], None] = lambda _: None
    ) -> None:
        self.encoder = encoder
        self.name, self.version, self.dim = encoder.name, encoder.version, encoder.dim
        self.directory = directory / _UNSAFE.sub("_", encoder.version)
        self._progress = progress
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((0, encoder.dim), dtype=np.float32)
        keys, vectors = self.directory / "keys.txt", self.directory / "vectors.npy"
        if keys.is_file() and vectors.is_file():
            names = keys.read_text(encoding="ascii").split()
            matrix = np.load(vectors, allow_pickle=False)
            if matrix.shape == (len(names), encoder.dim):  # else a torn write: start again
                self._rows = {k: i for i, k in enumerate(names)}
                self._matrix = matrix

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        keys = [_key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._rows))
        if missing:
            blocks = []
            for start in range(0, len(missing), CHUNK):
                self._progress(f"encoding {start}/{len(missing)} texts with {self.version}")
                blocks.append(self.encoder.encode(missing[start : start + CHUNK]))
            base = len(self._rows)
            for i, text in enumerate(missing):
                self._rows[_key(text)] = base + i
            self._matrix = np.vstack([self._matrix, *blocks]).astype(np.float32)
            self._save()
        out: Vectors = self._matrix[[self._rows[k] for k in keys]]
        return out

    def _save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        order = sorted(self._rows, key=self._rows.__getitem__)
        # Vectors first, keys last: a crash between the two leaves a shape mismatch, read as empty.
        tmp = self.directory / "vectors.tmp.npy"
        np.save(tmp, self._matrix, allow_pickle=False)
        tmp.replace(self.directory / "vectors.npy")
        (self.directory / "keys.txt").write_text("\n".join(order) + "\n", encoding="ascii")


__all__ = ["CachedEncoder"]
