"""``LearningStore`` over SQL: logged choices, reward windows, model snapshots, per-tenant mode."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tactful.domain import DecisionId, OutcomeType, TenantId
from tactful.learn.rewards import OutcomeFact
from tactful.learn.store import LoggedChoice, Snapshot
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import learning_events, learning_settings, learning_snapshots, outcomes

# Built once: ``json.dumps(..., sort_keys=True)`` builds an encoder per call (a decision's hot path).
_SORTED_JSON = json.JSONEncoder(sort_keys=True)

_INSERT_CHOICE = insert(learning_events).values(
    {c.name: bindparam(c.name, type_=c.type) for c in learning_events.columns}
)


class SqlLearningStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        # On every decision in shadow/live mode: prepared once (see PreparedQuery).
        self._q_insert = PreparedQuery(_INSERT_CHOICE, database.engine)

    @translate_driver_errors
    def log_choice(self, choice: LoggedChoice) -> None:
        try:
            # Not fsynced (durable=False): losing the newest rows on a power cut only means the
            # learner does not learn from those decisions; the decisions themselves are durable.
            with self._db.write(durable=False) as conn:
                self.log_choice_in(conn, choice)
        except IntegrityError:
            if self.get_choice(choice.tenant_id, choice.decision_id) is None:
                raise  # not a duplicate: the decision does not exist for this tenant

    def log_choice_write(self, choice: LoggedChoice) -> Callable[[RawTransaction], None]:
        """The log row as a write on the decision's own transaction (``SqlStore.record_decision``):
        it commits with the decision it belongs to, and costs no commit of its own."""
        return partial(self._log_choice_on, choice=choice)

    def _log_choice_on(self, conn: RawTransaction, choice: LoggedChoice) -> None:
        if conn.engine is not self._db.engine:
            # A learner keeping its log in another database cannot join the decision's
            # transaction: the row then gets a transaction of its own, as before.
            self.log_choice(choice)
            return
        self.log_choice_in(conn, choice)

    def log_choice_in(self, conn: Connection | RawTransaction, choice: LoggedChoice) -> None:
        RawTransaction.of(conn).execute(self._q_insert, _row(choice))

    @translate_driver_errors
    def get_choice(self, tenant_id: TenantId, decision_id: DecisionId) -> LoggedChoice | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(learning_events).where(
                    learning_events.c.tenant_id == tenant_id, learning_events.c.decision_id == decision_id
                )
            ).first()
        return None if row is None else _choice(row)

    @translate_driver_errors
    def due_choices(self, now: datetime, limit: int) -> list[LoggedChoice]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(learning_events)
                .where(learning_events.c.closed.is_(False), learning_events.c.due_at <= now)
                .order_by(learning_events.c.due_at)
                .limit(limit)
            ).all()
        return [_choice(r) for r in rows]

    @translate_driver_errors
    def early_due_choices(self, now: datetime, limit: int) -> list[LoggedChoice]:
        e = learning_events.c
        with self._db.read() as conn:
            rows = conn.execute(
                select(learning_events)
                # The partial index ix_learning_events_early_due holds exactly these rows.
                .where(e.early_due_at.is_not(None), e.partial_reward.is_(None), e.closed.is_(False))
                .where(e.early_due_at <= now)
                .order_by(e.early_due_at)
                .limit(limit)
            ).all()
        return [_choice(r) for r in rows]

    @translate_driver_errors
    def set_partial(self, tenant_id: TenantId, decision_id: DecisionId, partial: float) -> bool:
        e = learning_events.c
        # Not fsynced: a partial reward lost on a power cut is recomputed from the outcomes (the
        # row is due again), and learned a second time by the early estimate only.
        with self._db.write(durable=False) as conn:
            result = conn.execute(
                update(learning_events)
                .where(
                    e.tenant_id == tenant_id,
                    e.decision_id == decision_id,
                    e.closed.is_(False),
                    e.partial_reward.is_(None),
                )
                .values(partial_reward=partial)
            )
        return bool(result.rowcount == 1)

    @translate_driver_errors
    def outcome_facts(self, tenant_id: TenantId, decision_id: DecisionId) -> list[OutcomeFact]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(outcomes.c.type, outcomes.c.value, outcomes.c.occurred_at)
                .where(outcomes.c.tenant_id == tenant_id, outcomes.c.decision_id == decision_id)
                .order_by(outcomes.c.occurred_at)
            ).all()
        return [OutcomeFact(OutcomeType(r.type), r.value, r.occurred_at) for r in rows]

    @translate_driver_errors
    def close_choice(
        self, tenant_id: TenantId, decision_id: DecisionId, reward: float, now: datetime
    ) -> bool:
        with self._db.write() as conn:
            result = conn.execute(
                update(learning_events)
                .where(
                    learning_events.c.tenant_id == tenant_id,
                    learning_events.c.decision_id == decision_id,
                    learning_events.c.closed.is_(False),
                )
                .values(closed=True, reward=reward, closed_at=now)
            )
        return bool(result.rowcount == 1)

    @translate_driver_errors
    def choices(
        self, tenant_id: TenantId, *, closed_only: bool = False, limit: int = 100_000
    ) -> list[LoggedChoice]:
        query = select(learning_events).where(learning_events.c.tenant_id == tenant_id)
        if closed_only:
            query = query.where(learning_events.c.closed.is_(True))
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(learning_events.c.decided_at.desc()).limit(limit)).all()
        return [_choice(r) for r in rows]

    @translate_driver_errors
    def save_snapshot(
        self, tenant_id: TenantId, model: bytes, args: str, learned: int, note: str, now: datetime
    ) -> Snapshot:
        with self._db.write() as conn:
            newest = conn.execute(
                select(func.max(learning_snapshots.c.version)).where(
                    learning_snapshots.c.tenant_id == tenant_id
                )
            ).scalar()
            version = int(newest or 0) + 1
            conn.execute(
                insert(learning_snapshots).values(
                    tenant_id=tenant_id,
                    version=version,
                    model=model,
                    args=args,
                    learned=learned,
                    note=note[:200],
                    created_at=now,
                )
            )
        return Snapshot(tenant_id, version, model, args, learned, note[:200], now)

    @translate_driver_errors
    def get_snapshot(self, tenant_id: TenantId, version: int | None = None) -> Snapshot | None:
        query = select(learning_snapshots).where(learning_snapshots.c.tenant_id == tenant_id)
        if version is None:
            query = query.order_by(learning_snapshots.c.version.desc()).limit(1)
        else:
            query = query.where(learning_snapshots.c.version == version)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _snapshot(row)

    @translate_driver_errors
    def list_snapshots(self, tenant_id: TenantId) -> list[Snapshot]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(learning_snapshots)
                .where(learning_snapshots.c.tenant_id == tenant_id)
                .order_by(learning_snapshots.c.version.desc())
            ).all()
        return [_snapshot(r) for r in rows]

    @translate_driver_errors
    def get_mode(self, tenant_id: TenantId) -> str | None:
        with self._db.read() as conn:
            value = conn.execute(
                select(learning_settings.c.mode).where(learning_settings.c.tenant_id == tenant_id)
            ).scalar()
        return None if value is None else str(value)

    @translate_driver_errors
    def set_mode(self, tenant_id: TenantId, mode: str | None, now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(delete(learning_settings).where(learning_settings.c.tenant_id == tenant_id))
            if mode is not None:
                conn.execute(insert(learning_settings).values(tenant_id=tenant_id, mode=mode, updated_at=now))


def _row(choice: LoggedChoice) -> dict[str, Any]:
    return {
        "tenant_id": choice.tenant_id,
        "decision_id": choice.decision_id,
        "decided_at": choice.decided_at,
        "due_at": choice.due_at,
        "mode": choice.mode,
        "model_version": choice.model_version,
        "arms": json.dumps(list(choice.arms)),
        "chosen": choice.chosen,
        "propensity": choice.propensity,
        "rules_arm": choice.rules_arm,
        "greedy_arm": choice.greedy_arm,
        "features": _SORTED_JSON.encode(choice.features),
        "closed": choice.closed,
        "reward": choice.reward,
        "closed_at": choice.closed_at,
        "early_due_at": choice.early_due_at,
        "partial_reward": choice.partial_reward,
    }


def _choice(row: Row[Any]) -> LoggedChoice:
    return LoggedChoice(
        tenant_id=TenantId(row.tenant_id),
        decision_id=DecisionId(row.decision_id),
        decided_at=row.decided_at,
        due_at=row.due_at,
        mode=row.mode,
        model_version=row.model_version,
        arms=tuple(json.loads(row.arms)),
        chosen=row.chosen,
        propensity=float(row.propensity),
        rules_arm=row.rules_arm,
        greedy_arm=row.greedy_arm,
        features=dict(json.loads(row.features)),
        closed=bool(row.closed),
        reward=None if row.reward is None else float(row.reward),
        closed_at=row.closed_at,
        early_due_at=row.early_due_at,
        partial_reward=None if row.partial_reward is None else float(row.partial_reward),
    )


def _snapshot(row: Row[Any]) -> Snapshot:
    return Snapshot(
        tenant_id=TenantId(row.tenant_id),
        version=int(row.version),
        model=bytes(row.model),
        args=row.args,
        learned=int(row.learned),
        note=row.note,
        created_at=row.created_at,
    )
