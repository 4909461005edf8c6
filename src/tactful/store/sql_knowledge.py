"""Rows of the tenant knowledge base: passages with their embeddings (float32 bytes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from tactful.knowledge.base import ChunkRow
from tactful.store.database import Database
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import knowledge_chunks

_k = knowledge_chunks.c


class SqlKnowledgeRows:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    @translate_driver_errors
    def replace_source(self, tenant_id: str, source: str, rows: Sequence[ChunkRow]) -> None:
        """The source's passages become ``rows`` (re-adding an article replaces it, in one transaction)."""
        now = self._clock()
        with self._db.write() as conn:
            conn.execute(delete(knowledge_chunks).where(_k.tenant_id == tenant_id, _k.source == source))
            if rows:
                conn.execute(
                    insert(knowledge_chunks),
                    [{**r.__dict__, "tenant_id": tenant_id, "created_at": now} for r in rows],
                )

    @translate_driver_errors
    def chunks(self, tenant_id: str) -> list[ChunkRow]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(_k.chunk_id, _k.source, _k.position, _k.text, _k.encoder, _k.embedding)
                .where(_k.tenant_id == tenant_id)
                .order_by(_k.source, _k.position)
            ).all()
        return [
            ChunkRow(r.chunk_id, r.source, r.position, r.text, r.encoder, bytes(r.embedding)) for r in rows
        ]

    @translate_driver_errors
    def sources(self, tenant_id: str) -> list[tuple[str, int]]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(_k.source, func.count())
                .where(_k.tenant_id == tenant_id)
                .group_by(_k.source)
                .order_by(_k.source)
            ).all()
        return [(r[0], int(r[1])) for r in rows]

    @translate_driver_errors
    def erase(self, tenant_id: str, source: str | None = None) -> int:
        where = [_k.tenant_id == tenant_id] + ([] if source is None else [_k.source == source])
        with self._db.write() as conn:
            return int(conn.execute(delete(knowledge_chunks).where(*where)).rowcount)
