"""``decision_facts``: the read model the console's stream, charts and the experiments' guardrails
query — one row per decision, written in the decision's own transaction, with outcome flags set as
outcomes arrive. Setting a flag is idempotent, so a redelivered outcome event changes nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, case, func, insert, select, update

from tactful.domain import Decision, DecisionId, Outcome, OutcomeType, TenantId
from tactful.observability.metrics import degradation_reason
from tactful.policy.experiments import ArmStats
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import decision_facts, decisions

_FLAGS: dict[OutcomeType, str] = {
    OutcomeType.REPLIED: "replied",
    OutcomeType.RESOLVED: "resolved",
    OutcomeType.RECONTACT: "recontact",
    OutcomeType.COMPLAINT: "complaint",
    OutcomeType.OPTED_OUT: "opted_out",
    OutcomeType.ESCALATED: "escalated",
}
#: A decision that hands the customer over counts as an escalation, whatever outcome follows.
ESCALATING_ACTIONS = ("escalate", "handoff_human")
_INSERT = insert(decision_facts).values(
    {c.name: bindparam(c.name, type_=c.type) for c in decision_facts.columns}
)
_c = decision_facts.c


@dataclass(frozen=True)
class FactRow:
    decision_id: str
    decided_at: datetime
    customer_id: str
    inbound_channel: str
    channel: str
    action: str
    rule_id: str | None
    rules: tuple[str, ...]
    style: str
    degraded: bool
    degradations: tuple[str, ...]
    policy_version: str
    experiment_id: str | None
    arm: str | None
    latency_ms: float
    csat: float | None
    resolved: bool


def _mark(column: str) -> Any:
    values: dict[str, Any] = {"last_outcome_at": bindparam("b_at", type_=_c.last_outcome_at.type)}
    if column == "csat":
        values["csat"] = bindparam("b_value", type_=_c.csat.type)
    elif column != "last_outcome_at":
        values[column] = True
    return (
        update(decision_facts)
        .where(_c.tenant_id == bindparam("b_tenant_id"), _c.decision_id == bindparam("b_decision_id"))
        .values(values)
    )


def fact_row(decision: Decision) -> dict[str, Any]:
    trace = decision.learner
    return {
        "tenant_id": decision.tenant_id,
        "decision_id": decision.decision_id,
        "decided_at": decision.decided_at,
        "customer_id": decision.customer_id,
        "inbound_channel": decision.inbound_channel.value,
        "channel": decision.channel.primary.value if decision.channel.primary else "none",
        "action": decision.action.type.value,
        "rule_id": decision.action.rule_id,
        "rules": "|" + "|".join(decision.explanation.rules_fired) + "|",
        "style": decision.tone.style,
        "degraded": decision.degraded,
        "degradations": json.dumps([": ".join(degradation_reason(d)) for d in decision.degradations]),
        "policy_version": decision.policy_version,
        "experiment_id": decision.experiment,
        "arm": decision.arm,
        "latency_ms": decision.latency_ms.get("total", 0.0),
        "learner_mode": trace.mode if trace else None,
        "learner_agrees": (bool(trace.allowed) and trace.would_choose == trace.allowed[0]) if trace else None,
        "csat": None,
        "replied": False,
        "resolved": False,
        "recontact": False,
        "complaint": False,
        "opted_out": False,
        "escalated": False,
        "last_outcome_at": None,
    }


class SqlDecisionFacts:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._q_insert = PreparedQuery(_INSERT, database.engine)
        # One prepared update per column an outcome can set (the value is ignored for flags).
        self._q_mark = {
            column: PreparedQuery(_mark(column), database.engine)
            for column in ("csat", "last_outcome_at", *_FLAGS.values())
        }

    # -- writes -----------------------------------------------------------------------------------

    def record_in(self, conn: Connection | RawTransaction, decision: Decision) -> None:
        """A side write of the decision's own transaction (one more insert, no commit of its own)."""
        RawTransaction.of(conn).execute(self._q_insert, fact_row(decision))

    @translate_driver_errors
    def record(self, found: Sequence[Decision]) -> None:
        """Insert facts for decisions that have none yet (back-fills, the experiment simulator)."""
        with self._db.write(durable=False) as conn:
            self._insert_missing(conn, found)

    @translate_driver_errors
    def apply_outcomes(self, found: Sequence[Outcome]) -> int:
        """Set each outcome's flag (CSAT: its value) on its decision's row; returns how many
        outcomes found their decision. A decision from before the facts existed is back-filled."""
        if not found:
            return 0
        with self._db.write(durable=False) as conn:
            wanted: set[tuple[str, str]] = {(o.tenant_id, o.decision_id) for o in found}
            known = self._known(conn, wanted)
            missing = wanted - known
            if missing:
                self._insert_missing(conn, self._decisions(conn, missing))
                known = self._known(conn, wanted)
            tx = RawTransaction.of(conn)
            applied = 0
            for outcome in found:
                if (outcome.tenant_id, outcome.decision_id) not in known:
                    continue  # no such decision: nothing to mark
                column = "csat" if outcome.type is OutcomeType.CSAT else _FLAGS.get(outcome.type)
                if column is None or (column == "csat" and outcome.value is None):
                    column = "last_outcome_at"
                values: dict[str, object] = {
                    "b_tenant_id": outcome.tenant_id,
                    "b_decision_id": outcome.decision_id,
                    "b_at": outcome.occurred_at,
                }
                if column == "csat":
                    values["b_value"] = outcome.value
                tx.execute(self._q_mark[column], values)
                applied += 1
        return applied

    def _known(self, conn: Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        by_tenant: dict[str, list[str]] = {}
        for tenant, decision in keys:
            by_tenant.setdefault(tenant, []).append(decision)
        for tenant, ids in by_tenant.items():
            rows = conn.execute(
                select(_c.decision_id).where(_c.tenant_id == tenant, _c.decision_id.in_(ids))
            ).all()
            found.update((tenant, r[0]) for r in rows)
        return found

    @staticmethod
    def _decisions(conn: Connection, keys: set[tuple[str, str]]) -> list[Decision]:
        out = []
        for tenant, decision_id in keys:
            document = conn.execute(
                select(decisions.c.document).where(
                    decisions.c.tenant_id == tenant, decisions.c.decision_id == decision_id
                )
            ).scalar()
            if document is not None:
                out.append(Decision.model_validate_json(document))
        return out

    def _insert_missing(self, conn: Connection, found: Sequence[Decision]) -> None:
        keys: set[tuple[str, str]] = {(d.tenant_id, d.decision_id) for d in found}
        known = self._known(conn, keys)
        rows = [fact_row(d) for d in found if (d.tenant_id, d.decision_id) not in known]
        if rows:
            RawTransaction.of(conn).execute_many(self._q_insert, rows)

    # -- reads ------------------------------------------------------------------------------------

    @translate_driver_errors
    def recent(
        self,
        tenant_id: TenantId,
        *,
        limit: int = 50,
        before: datetime | None = None,
        since: datetime | None = None,
        channel: str | None = None,
        action: str | None = None,
        degraded: bool | None = None,
        rule: str | None = None,
        customer_id: str | None = None,
    ) -> list[FactRow]:
        """The newest decisions first, filtered; ``since`` keeps those at or after it (the live
        stream asks for rows since the newest it shows, and skips the ones it has)."""
        query = select(decision_facts).where(_c.tenant_id == tenant_id)
        if before is not None:
            query = query.where(_c.decided_at < before)
        if since is not None:
            # A microsecond of slack: SQLite keeps a whole-second time written on the decision's
            # fast path as "…:00" but binds it here as "…:00.000000", which sorts after it.
            query = query.where(_c.decided_at >= since - timedelta(microseconds=1))
        if channel:
            query = query.where(_c.channel == channel)
        if action:
            query = query.where(_c.action == action)
        if degraded is not None:
            query = query.where(_c.degraded.is_(degraded))
        if rule:
            query = query.where(_c.rules.contains(f"|{rule}|", autoescape=True))
        if customer_id:
            query = query.where(_c.customer_id == customer_id)
        query = query.order_by(_c.decided_at.desc(), _c.decision_id.desc()).limit(limit)
        with self._db.read() as conn:
            return [_row(r) for r in conn.execute(query).all()]

    @translate_driver_errors
    def arm_stats(
        self,
        tenant_id: TenantId,
        experiment_id: str,
        *,
        matured_before: datetime,
        since: datetime | None = None,
    ) -> dict[str, ArmStats]:
        """Per arm: every decision (since ``since``) and, among those made before ``matured_before``,
        the outcome counts the guardrails compare."""
        matured = _c.decided_at <= matured_before

        def count_if(condition: Any) -> Any:
            return func.sum(case((and_(matured, condition), 1), else_=0))

        csat_known = and_(matured, _c.csat.is_not(None))
        escalated = _c.escalated.is_(True) | _c.action.in_(ESCALATING_ACTIONS)
        query = (
            select(
                _c.arm,
                func.count(),
                func.count(func.distinct(_c.customer_id)),
                func.sum(_c.latency_ms),
                func.sum(_c.latency_ms * _c.latency_ms),
                func.sum(case((matured, 1), else_=0)),
                count_if(_c.resolved.is_(True)),
                count_if(_c.recontact.is_(True)),
                count_if(_c.complaint.is_(True)),
                count_if(_c.opted_out.is_(True)),
                count_if(escalated),
                func.sum(case((csat_known, 1), else_=0)),
                func.sum(case((csat_known, _c.csat), else_=0.0)),
                func.sum(case((csat_known, _c.csat * _c.csat), else_=0.0)),
            )
            .where(_c.tenant_id == tenant_id, _c.experiment_id == experiment_id)
            .group_by(_c.arm)
        )
        if since is not None:
            # A microsecond of slack: SQLite keeps a whole-second time written on the decision's
            # fast path as "…:00" but binds it here as "…:00.000000", which sorts after it.
            query = query.where(_c.decided_at >= since - timedelta(microseconds=1))
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        out: dict[str, ArmStats] = {}
        for arm, *figures in rows:
            n, customers, lat, lat2, mat, res, rec, com, opt, esc, cn, cs, cq = (v or 0 for v in figures)
            out[str(arm)] = ArmStats(
                int(n), int(customers), float(lat), float(lat2), int(mat), int(res), int(rec), int(com),
                int(opt), int(esc), int(cn), float(cs), float(cq),
            )  # fmt: skip
        return out

    @translate_driver_errors
    def get(self, tenant_id: TenantId, decision_id: DecisionId) -> FactRow | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(decision_facts).where(_c.tenant_id == tenant_id, _c.decision_id == decision_id)
            ).first()
        return None if row is None else _row(row)

    @translate_driver_errors
    def rows_since(self, tenant_id: TenantId, since: datetime, *, limit: int = 50_000) -> list[Row[Any]]:
        """Raw rows for the console's charts (bucketed in Python: portable across backends)."""
        query = (
            select(decision_facts)
            .where(_c.tenant_id == tenant_id, _c.decided_at >= since)
            .order_by(_c.decided_at.desc())
            .limit(limit)
        )
        with self._db.read() as conn:
            return list(conn.execute(query).all())


def _row(r: Row[Any]) -> FactRow:
    return FactRow(
        decision_id=r.decision_id,
        decided_at=r.decided_at,
        customer_id=r.customer_id,
        inbound_channel=r.inbound_channel,
        channel=r.channel,
        action=r.action,
        rule_id=r.rule_id,
        rules=tuple(x for x in r.rules.split("|") if x),
        style=r.style,
        degraded=bool(r.degraded),
        degradations=tuple(json.loads(r.degradations)),
        policy_version=r.policy_version,
        experiment_id=r.experiment_id,
        arm=r.arm,
        latency_ms=float(r.latency_ms),
        csat=r.csat,
        resolved=bool(r.resolved),
    )
