"""Recomputing materialised feature state from the event log: ``rebuild`` (all or some tenants,
batches of customers, safe under live traffic) and ``backfill`` of a published definitions version."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, delete, insert, or_, select, type_coerce

from tactful.context.aggregations import compute, state_text
from tactful.context.definitions import Level
from tactful.context.events import FeatureEvent
from tactful.context.feature_store import Progress, RebuildReport
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import customers, events, feature_state
from tactful.store.sql_feature_definitions import SqlFeatureDefinitions, as_utc

REBUILD_BATCH = 500  # customers per rebuild transaction: bounds how long live traffic waits


class SqlFeatureRebuild(SqlFeatureDefinitions):
    @translate_driver_errors
    def rebuild(
        self,
        tenant_id: str | None = None,
        *,
        since: datetime | None = None,
        version: int | None = None,
        progress: Progress | None = None,
        on_batch: Callable[[list[dict[str, Any]]], object] | None = None,
    ) -> RebuildReport:
        """``on_batch`` gets each batch's new state rows once they are committed (the hot store's
        refill)."""
        started = time.perf_counter()
        with self._db.read() as conn:
            if tenant_id is None:
                tenant_ids = list(
                    conn.execute(select(events.c.tenant_id).distinct().order_by(events.c.tenant_id)).scalars()
                )
            else:
                tenant_ids = [tenant_id]
            todo: dict[str, list[str]] = {}
            for tenant in tenant_ids:
                query = select(events.c.customer_id).distinct().where(events.c.tenant_id == tenant)
                if since is not None:
                    # Late arrivals count too: an old event recorded since then changes the state.
                    query = query.where(or_(events.c.occurred_at >= since, events.c.recorded_at >= since))
                todo[tenant] = list(conn.execute(query.order_by(events.c.customer_id)).scalars())
        total = sum(len(c) for c in todo.values())
        done = n_events = 0
        versions_done: dict[str, list[int]] = {}
        for tenant, customer_ids in todo.items():
            for start in range(0, len(customer_ids), REBUILD_BATCH):
                batch = customer_ids[start : start + REBUILD_BATCH]
                written: list[dict[str, Any]] = []
                with self._db.write() as conn:
                    self._lock(conn, tenant)
                    versions = [version] if version is not None else self._live_versions(conn, tenant)
                    versions_done[tenant] = versions
                    n_events += self._rebuild_batch(conn, tenant, batch, versions, written)
                if on_batch is not None and written:
                    on_batch(written)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
        return RebuildReport(
            tenants=len(todo),
            customers=total,
            events=n_events,
            seconds=time.perf_counter() - started,
            versions=versions_done,
        )

    def _rebuild_batch(
        self,
        conn: Connection,
        tenant_id: str,
        batch: list[str],
        versions: list[int],
        written: list[dict[str, Any]],
    ) -> int:
        self._lock_states(conn, tenant_id, batch)
        # The hot loop of a rebuild: timestamps come back as the driver gives them (no per-row
        # type processing), parsed once by ``_timestamp``.
        rows = conn.execute(
            select(
                events.c.customer_id,
                events.c.event_id,
                events.c.type,
                type_coerce(events.c.occurred_at, String()),
                events.c.payload,
            )
            .where(events.c.tenant_id == tenant_id, events.c.customer_id.in_(batch))
            .order_by(events.c.customer_id, events.c.occurred_at, events.c.event_id)
        ).all()
        logs: dict[str, list[FeatureEvent]] = {}
        loads = json.loads
        for customer_id, event_id, kind, occurred_at, payload in rows:
            logs.setdefault(customer_id, []).append(
                FeatureEvent(tenant_id, event_id, customer_id, kind, as_utc(occurred_at), loads(payload))
            )
        prefs = dict(
            conn.execute(
                select(customers.c.customer_id, customers.c.preferences).where(
                    customers.c.tenant_id == tenant_id, customers.c.customer_id.in_(batch)
                )
            ).all()
        )
        now = self._clock()
        seqs = {
            (c, int(v)): int(seq)
            for c, v, seq in conn.execute(
                select(feature_state.c.customer_id, feature_state.c.version, feature_state.c.seq).where(
                    feature_state.c.tenant_id == tenant_id, feature_state.c.customer_id.in_(batch)
                )
            ).all()
        }
        for version in versions:
            defs = self.definitions(tenant_id, version)
            consent_plan, personal_plan = defs.plan(Level.CONSENT), defs.plan(Level.PERSONAL)
            fresh = []
            for customer_id, log in logs.items():
                stored_prefs = prefs.get(customer_id)
                allowed = stored_prefs is None or json.loads(stored_prefs).get("personalisation") != "off"
                fresh.append(
                    {
                        "tenant_id": tenant_id,
                        "customer_id": customer_id,
                        "version": version,
                        "consent_state": state_text(compute(consent_plan, log, ordered=True)),
                        "personal_state": state_text(compute(personal_plan, log, ordered=True))
                        if allowed
                        else None,
                        "computed_at": now,
                        "seq": seqs.get((customer_id, version), 0) + 1,  # a rebuilt row is a write too
                    }
                )
            conn.execute(
                delete(feature_state).where(
                    feature_state.c.tenant_id == tenant_id,
                    feature_state.c.version == version,
                    feature_state.c.customer_id.in_(batch),
                )
            )
            if fresh:
                conn.execute(insert(feature_state), fresh)
                written.extend(fresh)
        return len(rows)

    @translate_driver_errors
    def backfill(self, tenant_id: str, version: int, progress: Progress | None = None) -> RebuildReport:
        """Compute a published version's state from the whole log, before it is activated.

        The version becomes live *first* (status ``backfilling``), so events arriving during the
        backfill update it incrementally and nothing falls between the backfill and activation."""
        record = self._set_status(
            tenant_id, version, "backfilling", allowed_from=("published", "backfilling", "ready")
        )
        report = self.rebuild(tenant_id, version=record.version, progress=progress)
        self._set_status(tenant_id, version, "ready", allowed_from=("backfilling",))
        return report
