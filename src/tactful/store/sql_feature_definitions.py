"""Feature definitions in SQL — publish, backfill status, activate, list — and the locks every
writer of a tenant's feature state takes; the base of ``SqlFeatureStore`` (sql_features.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from tactful.context.definitions import DefinitionSet, default_definitions, parse_definitions
from tactful.context.feature_store import DefinitionRecord
from tactful.errors import Conflict, NotFound
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import feature_definitions, feature_state


class SqlFeatureDefinitions:
    """What ``SqlFeatureStore`` sets up in its constructor and these methods read."""

    _db: Database
    _clock: Callable[[], datetime]
    #: Published sets never change, so a parsed set is cached forever by (tenant, version).
    _sets: dict[tuple[str, int], DefinitionSet]
    _q_live: PreparedQuery

    def _lock(self, conn: Connection, tenant_id: str) -> None:
        if self._db.backend == "postgresql":  # SQLite's write transactions are exclusive already
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("features:" + tenant_id))))

    def _lock_states(self, conn: Connection, tenant_id: str, customer_ids: list[str]) -> None:
        """Decisions fold their customer's state holding its rows (``FOR UPDATE``) rather than the
        advisory lock (sql_feature_writes.py): the other writers lock the same rows before they
        read state or log, so neither overwrites the other's fold."""
        if self._db.backend != "postgresql" or not customer_ids:
            return
        for start in range(0, len(customer_ids), 500):
            conn.execute(
                select(feature_state.c.customer_id)
                .where(
                    feature_state.c.tenant_id == tenant_id,
                    feature_state.c.customer_id.in_(customer_ids[start : start + 500]),
                )
                .with_for_update()
            ).all()

    def definitions(self, tenant_id: str, version: int | None = None) -> DefinitionSet:
        if version is None:
            version = self._active_version(tenant_id)
        if version == 0:
            return default_definitions()
        cached = self._sets.get((tenant_id, version))
        if cached is None:
            with self._db.read() as conn:
                source = conn.execute(
                    select(feature_definitions.c.source).where(
                        feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version
                    )
                ).scalar()
            if source is None:
                raise NotFound(f"no feature definitions version {version}", code="feature_version_not_found")
            cached = self._sets[(tenant_id, version)] = parse_definitions(source, version)
        return cached

    @translate_driver_errors
    def publish_definitions(self, tenant_id: str, source: str, by: str) -> DefinitionRecord:
        parsed = parse_definitions(source, version=1)  # validates before anything is stored
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            existing = conn.execute(
                select(feature_definitions).where(
                    feature_definitions.c.tenant_id == tenant_id,
                    feature_definitions.c.content_hash == parsed.content_hash,
                )
            ).first()
            if existing is not None:
                return record_of(existing)
            version = 1 + int(
                conn.execute(
                    select(func.coalesce(func.max(feature_definitions.c.version), 0)).where(
                        feature_definitions.c.tenant_id == tenant_id
                    )
                ).scalar_one()
            )
            values = {
                "tenant_id": tenant_id,
                "version": version,
                "content_hash": parsed.content_hash,
                "source": source,
                "status": "published",
                "created_at": self._clock(),
                "created_by": by,
            }
            conn.execute(insert(feature_definitions).values(**values))
        return DefinitionRecord(**{k: v for k, v in values.items() if k != "source"})  # type: ignore[arg-type]

    @translate_driver_errors
    def activate_definitions(self, tenant_id: str, version: int) -> DefinitionRecord:
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            row = self._definition_row(conn, tenant_id, version)
            if row.status == "active":
                return record_of(row)
            if row.status != "ready":
                raise Conflict(
                    f"feature definitions v{version} are {row.status}; backfill them before activating",
                    code="features_not_backfilled",
                )
            previous = self._active_version_in(conn, tenant_id)
            conn.execute(
                update(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.status == "active")
                .values(status="retired")
            )
            conn.execute(
                update(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version)
                .values(status="active")
            )
            # The retired version is no longer maintained: drop its state rather than keep stale data.
            conn.execute(
                delete(feature_state).where(
                    feature_state.c.tenant_id == tenant_id, feature_state.c.version == previous
                )
            )
            return record_of(self._definition_row(conn, tenant_id, version))

    @translate_driver_errors
    def list_definitions(self, tenant_id: str) -> list[DefinitionRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id)
                .order_by(feature_definitions.c.version)
            ).all()
        return [record_of(row) for row in rows]

    def _set_status(
        self, tenant_id: str, version: int, status: str, allowed_from: Iterable[str]
    ) -> DefinitionRecord:
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            row = self._definition_row(conn, tenant_id, version)
            if row.status not in allowed_from:
                raise Conflict(
                    f"feature definitions v{version} are {row.status}", code="invalid_feature_status"
                )
            conn.execute(
                update(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version)
                .values(status=status)
            )
            return record_of(self._definition_row(conn, tenant_id, version))

    @staticmethod
    def _definition_row(conn: Connection, tenant_id: str, version: int) -> Any:
        row = conn.execute(
            select(feature_definitions).where(
                feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version
            )
        ).first()
        if row is None:
            raise NotFound(f"no feature definitions version {version}", code="feature_version_not_found")
        return row

    def _active_version(self, tenant_id: str) -> int:
        with self._db.read() as conn:
            return self._active_version_in(conn, tenant_id)

    @staticmethod
    def _active_version_in(conn: Connection, tenant_id: str) -> int:
        found = conn.execute(
            select(feature_definitions.c.version).where(
                feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.status == "active"
            )
        ).scalar()
        return 0 if found is None else int(found)

    def _live_versions(self, conn: Connection, tenant_id: str) -> list[int]:
        rows = RawTransaction.of(conn).fetch_all(self._q_live, {"b_tenant_id": tenant_id})
        versions = sorted(int(v) for v, _ in rows)
        if not any(status == "active" for _, status in rows):
            versions.insert(0, 0)  # the shipped default is live until a tenant activates its own
        return versions


def as_utc(value: Any) -> datetime:
    """A raw driver timestamp (SQLite text, PostgreSQL datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def record_of(row: Any) -> DefinitionRecord:
    return DefinitionRecord(
        tenant_id=row.tenant_id,
        version=int(row.version),
        content_hash=row.content_hash,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
    )
