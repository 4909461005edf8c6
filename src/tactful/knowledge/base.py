"""The knowledge base: add articles, retrieve the top-k passages for a message, erase a tenant's.

Passages are embedded with the ``embed`` signal tier's encoder (a static encoder distilled from
all-MiniLM-L6-v2, shipped in the package: ~4 ms for a message, no download) and ranked by cosine
similarity. Embeddings made by another encoder version are skipped at search time and reported,
so an encoder upgrade never compares vectors from two different spaces.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tactful.errors import InputRejected
from tactful.knowledge.chunking import chunk_document
from tactful.signals.base import Encoder

MAX_SOURCE_CHARS = 300


@dataclass(frozen=True)
class ChunkRow:
    """A stored passage: its text and embedding (float32 bytes, L2-normalised)."""

    chunk_id: str
    source: str
    position: int
    text: str
    encoder: str  # "name:version" of the encoder that made the embedding
    embedding: bytes


class KnowledgeRows(Protocol):
    def replace_source(self, tenant_id: str, source: str, rows: Sequence[ChunkRow]) -> None: ...

    def chunks(self, tenant_id: str) -> list[ChunkRow]: ...

    def sources(self, tenant_id: str) -> list[tuple[str, int]]: ...

    def erase(self, tenant_id: str, source: str | None = None) -> int: ...


@dataclass(frozen=True)
class Passage:
    source: str
    chunk_id: str
    text: str
    score: float

    @property
    def citation(self) -> str:
        return f"{self.source}#{self.chunk_id}"


def _default_encoder() -> Encoder:
    from tactful.signals.encoders import load_encoder

    return load_encoder("embed")


class KnowledgeBase:
    def __init__(self, rows: KnowledgeRows, encoder: Callable[[], Encoder] = _default_encoder) -> None:
        self._rows = rows
        self._make_encoder = encoder
        self._encoder: Encoder | None = None
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:  # loaded on first use: a tenant without articles never pays for it
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._make_encoder()
        return self._encoder

    def add(self, tenant_id: str, source: str, raw: str, fmt: str) -> int:
        """Chunk, embed and store an article under ``source`` (replacing an earlier one of that
        name); returns the number of passages."""
        source = " ".join(source.split())
        if not source or len(source) > MAX_SOURCE_CHARS:
            raise InputRejected(f"a source name needs 1-{MAX_SOURCE_CHARS} characters", code="invalid_source")
        passages = chunk_document(raw, fmt)
        if not passages:
            raise InputRejected(f"{source}: no text left to index", code="empty_document")
        vectors = self.encoder.encode(passages)
        version = f"{self.encoder.name}:{self.encoder.version}"
        rows = [
            ChunkRow(
                chunk_id=hashlib.sha256(f"{source}\x00{i}\x00{text}".encode()).hexdigest()[:16],
                source=source,
                position=i,
                text=text,
                encoder=version,
                embedding=np.asarray(vec, dtype=np.float32).tobytes(),
            )
            for i, (text, vec) in enumerate(zip(passages, vectors, strict=True))
        ]
        self._rows.replace_source(tenant_id, source, rows)
        return len(rows)

    def search(self, tenant_id: str, query: str, k: int = 3, min_score: float = 0.2) -> list[Passage]:
        """The ``k`` passages most similar to ``query`` scoring at least ``min_score``."""
        if not query.strip() or k < 1:
            return []
        chunks = self._rows.chunks(tenant_id)
        version = f"{self.encoder.name}:{self.encoder.version}"
        usable = [c for c in chunks if c.encoder == version]
        if not usable:
            return []
        matrix = np.stack([np.frombuffer(c.embedding, dtype=np.float32) for c in usable])
        q = np.asarray(self.encoder.encode([query])[0], dtype=np.float32)
        scores = matrix @ q
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Passage(usable[i].source, usable[i].chunk_id, usable[i].text, round(float(scores[i]), 4))
            for i in order
            if scores[i] >= min_score
        ]

    def sources(self, tenant_id: str) -> list[tuple[str, int]]:
        return self._rows.sources(tenant_id)

    def erase(self, tenant_id: str, source: str | None = None) -> int:
        return self._rows.erase(tenant_id, source)
