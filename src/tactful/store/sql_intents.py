"""Tenant intent examples and models over SQL (issue 3). Every query is scoped by tenant."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from tactful.domain import TenantId
from tactful.store.database import Database
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import intent_examples, intent_models


@dataclass(frozen=True)
class StoredIntentModel:
    tenant_id: TenantId
    version: int
    model: bytes  # TenantIntentModel.to_bytes()
    labels: tuple[str, ...]
    threshold: float
    n_examples: int
    metrics: dict[str, float]
    created_at: datetime


class SqlIntentStore:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    @translate_driver_errors
    def add_examples(self, tenant_id: TenantId, examples: Sequence[tuple[str, str]]) -> int:
        """Append (text, label) pairs; returns how many the tenant has now."""
        now = self._clock()
        with self._db.write() as conn:
            last = conn.execute(
                select(func.max(intent_examples.c.seq)).where(intent_examples.c.tenant_id == tenant_id)
            ).scalar()
            start = int(last or 0)
            if examples:
                conn.execute(
                    insert(intent_examples),
                    [
                        {
                            "tenant_id": tenant_id,
                            "seq": start + i + 1,
                            "text": text,
                            "label": label,
                            "created_at": now,
                        }
                        for i, (text, label) in enumerate(examples)
                    ],
                )
            return start + len(examples)

    @translate_driver_errors
    def examples(self, tenant_id: TenantId) -> list[tuple[str, str]]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(intent_examples.c.text, intent_examples.c.label)
                .where(intent_examples.c.tenant_id == tenant_id)
                .order_by(intent_examples.c.seq)
            ).all()
        return [(row.text, row.label) for row in rows]

    @translate_driver_errors
    def save_model(
        self,
        tenant_id: TenantId,
        model: bytes,
        labels: Sequence[str],
        threshold: float,
        n_examples: int,
        metrics: dict[str, float],
    ) -> int:
        """Store a newly trained model as the tenant's next version; returns the version."""
        with self._db.write() as conn:
            last = conn.execute(
                select(func.max(intent_models.c.version)).where(intent_models.c.tenant_id == tenant_id)
            ).scalar()
            version = int(last or 0) + 1
            conn.execute(
                insert(intent_models).values(
                    tenant_id=tenant_id,
                    version=version,
                    model=model,
                    labels=json.dumps(list(labels)),
                    threshold=threshold,
                    n_examples=n_examples,
                    metrics=json.dumps(metrics, sort_keys=True),
                    created_at=self._clock(),
                )
            )
        return version

    @translate_driver_errors
    def latest_model(self, tenant_id: TenantId) -> StoredIntentModel | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(intent_models)
                .where(intent_models.c.tenant_id == tenant_id)
                .order_by(intent_models.c.version.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return StoredIntentModel(
            tenant_id=TenantId(row.tenant_id),
            version=int(row.version),
            model=bytes(row.model),
            labels=tuple(json.loads(row.labels)),
            threshold=float(row.threshold),
            n_examples=int(row.n_examples),
            metrics=json.loads(row.metrics),
            created_at=row.created_at,
        )
