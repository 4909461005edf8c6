"""``ExperimentStore`` over SQL: one row per experiment; every change audited in its transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from tactful.domain import TenantId
from tactful.errors import Conflict
from tactful.policy.experiments import Experiment, ExperimentSettings
from tactful.store.database import Database, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import experiments
from tactful.store.sql_audit import AuditStatements, append_in, lock_head, payload_text

_c = experiments.c
_RUNNING = select(experiments).where(_c.tenant_id == bindparam("b_tenant_id"), _c.state == "running")
#: Columns ``change_experiment`` may set.
_CHANGEABLE = frozenset({"share", "step", "state", "step_started_at", "ended_at", "ended_by", "result"})


class SqlExperimentStore:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        self._audit = AuditStatements(database)

    @translate_driver_errors
    def create_experiment(self, experiment: Experiment) -> Experiment:
        try:
            with self._db.write() as conn:
                lock_head(conn, experiment.tenant_id)  # serialises with the tenant's other changes
                conn.execute(insert(experiments).values(_values(experiment)))
                self._append(conn, experiment.tenant_id, "experiment.create", _created(experiment))
        except IntegrityError as exc:
            raise Conflict(
                "an experiment is already running for this tenant; stop or promote it first",
                code="experiment_running",
            ) from exc
        return experiment

    @translate_driver_errors
    def get_experiment(self, tenant_id: TenantId, experiment_id: str) -> Experiment | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(experiments).where(_c.tenant_id == tenant_id, _c.experiment_id == experiment_id)
            ).first()
        return None if row is None else _experiment(row)

    @translate_driver_errors
    def list_experiments(self, tenant_id: TenantId) -> list[Experiment]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(experiments).where(_c.tenant_id == tenant_id).order_by(_c.created_at.desc())
            ).all()
        return [_experiment(r) for r in rows]

    @translate_driver_errors
    def running_experiment(self, tenant_id: TenantId) -> Experiment | None:
        # Read at most once a second per tenant and process (``ExperimentRouter`` caches it).
        with self._db.read() as conn:
            row = conn.execute(_RUNNING, {"b_tenant_id": tenant_id}).first()
        return None if row is None else _experiment(row)

    @translate_driver_errors
    def running_tenants(self) -> list[TenantId]:
        with self._db.read() as conn:
            rows = conn.execute(select(_c.tenant_id).where(_c.state == "running")).all()
        return [TenantId(r[0]) for r in rows]

    @translate_driver_errors
    def change_experiment(
        self, experiment: Experiment, changes: Mapping[str, Any], audit_kind: str, audit: dict[str, Any]
    ) -> Experiment | None:
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")
        values = dict(changes)
        if "result" in values and values["result"] is not None:
            values["result"] = json.dumps(values["result"], sort_keys=True)
        with self._db.write() as conn:
            lock_head(conn, experiment.tenant_id)
            changed = conn.execute(
                update(experiments)
                .where(
                    _c.tenant_id == experiment.tenant_id,
                    _c.experiment_id == experiment.experiment_id,
                    _c.revision == experiment.revision,
                )
                .values(revision=experiment.revision + 1, **values)
            ).rowcount
            if not changed:
                return None  # another process changed it first; the caller re-reads
            self._append(
                conn,
                experiment.tenant_id,
                audit_kind,
                {"experiment_id": experiment.experiment_id, "revision": experiment.revision + 1, **audit},
            )
        return self.get_experiment(experiment.tenant_id, experiment.experiment_id)

    def _append(self, conn: Any, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        append_in(
            RawTransaction.of(conn),
            self._audit,
            tenant_id=tenant_id,
            kind=kind,
            payload=payload,
            payload_json=payload_text(payload),
            created_at=self._clock(),
        )


def _values(e: Experiment) -> dict[str, Any]:
    return {
        "tenant_id": e.tenant_id,
        "experiment_id": e.experiment_id,
        "name": e.name,
        "kind": e.kind,
        "candidate_version": e.candidate_version,
        "candidate_mode": e.candidate_mode,
        "control_version": e.control_version,
        "share": e.share,
        "step": e.step,
        "state": e.state,
        "settings": e.settings.model_dump_json(),
        "created_at": e.created_at,
        "created_by": e.created_by,
        "step_started_at": e.step_started_at,
        "ended_at": e.ended_at,
        "ended_by": e.ended_by,
        "result": None if e.result is None else json.dumps(e.result, sort_keys=True),
        "revision": e.revision,
    }


def _created(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "kind": e.kind,
        "candidate": e.candidate,
        "control_version": e.control_version,
        "share": e.share,
        "settings": json.loads(e.settings.model_dump_json()),
        "by": e.created_by,
    }


def _experiment(row: Row[Any]) -> Experiment:
    r = row._mapping
    return Experiment(
        tenant_id=TenantId(r["tenant_id"]),
        experiment_id=r["experiment_id"],
        name=r["name"],
        kind=r["kind"],
        candidate_version=r["candidate_version"],
        candidate_mode=r["candidate_mode"],
        control_version=int(r["control_version"]),
        share=float(r["share"]),
        step=int(r["step"]),
        state=r["state"],
        settings=ExperimentSettings.model_validate_json(r["settings"]),
        created_at=r["created_at"],
        created_by=r["created_by"],
        step_started_at=r["step_started_at"],
        ended_at=r["ended_at"],
        ended_by=r["ended_by"],
        result=None if r["result"] is None else json.loads(r["result"]),
        revision=int(r["revision"]),
    )
