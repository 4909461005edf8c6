"""The experiments' monitor: guardrails per arm, the sequential test, automatic rollback, a canary's
ramp and promotion (docs/experiments.md).

``judge`` is pure: an experiment and its arms' figures in, a verdict out. ``ExperimentMonitor``
reads the figures, acts on the verdict through ``ExperimentStore.change_experiment`` (compare-and-
set and audited in one transaction, so monitors in several processes cannot act twice) and runs
after outcomes arrive (``on_outcome``, at most every ``every`` per tenant), from
``tactful experiments check`` and on demand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from tactful.domain import Envelope, Outcome, TenantId, new_id
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.policy import lifecycle
from tactful.policy.experiments import (
    METRICS,
    ArmStats,
    Experiment,
    ExperimentRouter,
    ExperimentSettings,
    ExperimentStore,
    FactsReader,
    Kind,
    LearnerMode,
    Metric,
)
from tactful.policy.sequential import Direction, HarmTest, Sample, harm_test
from tactful.store.base import PolicyStore

Verdict = Literal["wait", "hold", "ramp", "promote", "rollback", "ended"]
WORSE: dict[Metric, Direction] = {
    "resolution": "lower",
    "csat": "lower",
    "recontact": "higher",
    "complaint": "higher",
    "opt_out": "higher",
    "escalation": "higher",
    "latency": "higher",
}


def sample(stats: ArmStats, metric: Metric) -> Sample:
    """The observations a guardrail compares: rates over matured decisions, CSAT over the decisions
    that got a score, latency over every decision."""
    rates = {
        "resolution": stats.resolved,
        "recontact": stats.recontact,
        "complaint": stats.complaint,
        "opt_out": stats.opted_out,
        "escalation": stats.escalated,
    }
    if metric == "csat":
        return Sample.of_sums(stats.csat_n, stats.csat_sum, stats.csat_sq)
    if metric == "latency":
        return Sample.of_sums(stats.decisions, stats.latency_sum, stats.latency_sq)
    return Sample.of_rate(stats.matured, rates[metric])


@dataclass(frozen=True)
class GuardrailResult:
    metric: Metric
    control: Sample
    candidate: Sample
    test: HarmTest | None  # None: not tested yet (too few samples)
    note: str = ""

    @property
    def breached(self) -> bool:
        return self.test is not None and self.test.breached

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "worse_when": WORSE[self.metric],
            "control": {"n": self.control.n, "mean": round(self.control.mean, 5)},
            "candidate": {"n": self.candidate.n, "mean": round(self.candidate.mean, 5)},
            "tested": self.test is not None,
            "breached": self.breached,
        }
        if self.test is not None:
            out["harm"] = round(self.test.harm, 5)
            out["log_likelihood_ratio"] = round(self.test.log_lr, 4)
            out["threshold"] = round(self.test.threshold, 4)
            out["always_valid_p"] = round(self.test.always_valid_p, 6)
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class ExperimentStatus:
    experiment: Experiment
    arms: dict[str, ArmStats]
    guardrails: tuple[GuardrailResult, ...]
    verdict: Verdict
    reason: str
    step_samples: int = 0  # canary: matured candidate decisions in the current step

    def as_dict(self) -> dict[str, Any]:
        e = self.experiment
        return {
            **experiment_dict(e),
            "verdict": self.verdict,
            "reason": self.reason,
            "step_samples": self.step_samples,
            "arms": {arm: arm_dict(s) for arm, s in sorted(self.arms.items())},
            "guardrails": [g.as_dict() for g in self.guardrails],
        }


def experiment_dict(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "kind": e.kind,
        "candidate": e.candidate,
        "candidate_version": e.candidate_version,
        "candidate_mode": e.candidate_mode,
        "control_version": e.control_version,
        "state": e.state,
        "share": e.share,
        "step": e.step,
        "steps": list(e.settings.steps) if e.kind == "canary" else None,
        "settings": e.settings.model_dump(mode="json"),
        "created_at": e.created_at.isoformat(),
        "created_by": e.created_by,
        "step_started_at": e.step_started_at.isoformat(),
        "ended_at": e.ended_at.isoformat() if e.ended_at else None,
        "ended_by": e.ended_by,
        "result": e.result,
    }


def arm_dict(s: ArmStats) -> dict[str, Any]:
    def rate(hits: int) -> float | None:
        return round(hits / s.matured, 4) if s.matured else None

    return {
        "decisions": s.decisions,
        "customers": s.customers,
        "matured": s.matured,
        "resolution": rate(s.resolved),
        "recontact": rate(s.recontact),
        "complaint": rate(s.complaint),
        "opt_out": rate(s.opted_out),
        "escalation": rate(s.escalated),
        "csat": round(s.csat_sum / s.csat_n, 3) if s.csat_n else None,
        "csat_n": s.csat_n,
        "latency_ms": round(s.latency_sum / s.decisions, 3) if s.decisions else None,
    }


def judge(
    experiment: Experiment, arms: dict[str, ArmStats], step: ArmStats | None = None
) -> ExperimentStatus:
    """The verdict on a running experiment from its arms' figures (``step``: the candidate's
    figures since the current step started)."""
    cfg = experiment.settings
    control, candidate = arms.get("control", ArmStats()), arms.get("candidate", ArmStats())
    alpha = cfg.alpha / max(len(cfg.guardrails), 1)  # Bonferroni across the guardrails
    results: list[GuardrailResult] = []
    for metric in METRICS:
        limit = cfg.guardrails.get(metric)
        if limit is None:
            continue
        c, t = sample(control, metric), sample(candidate, metric)
        if min(c.n, t.n) < cfg.min_samples:
            results.append(GuardrailResult(metric, c, t, None, f"needs {cfg.min_samples} per arm"))
            continue
        # Latency's margin and scale are relative to control's mean; the others are absolute.
        unit = c.mean if metric == "latency" else 1.0
        test = harm_test(
            c, t, worse=WORSE[metric], margin=limit.margin * unit, tau=limit.scale * unit, alpha=alpha
        )
        results.append(GuardrailResult(metric, c, t, test))
    step_samples = step.matured if step is not None else 0

    def status(verdict: Verdict, reason: str) -> ExperimentStatus:
        return ExperimentStatus(experiment, arms, tuple(results), verdict, reason, step_samples)

    if not experiment.running:
        return status("ended", f"{experiment.state}")
    breached = [g for g in results if g.breached]
    if breached:
        worst = max(breached, key=lambda g: g.test.log_lr if g.test else 0.0)
        assert worst.test is not None
        return status(
            "rollback",
            f"candidate worse on {worst.metric}: {worst.candidate.mean:.4g} vs {worst.control.mean:.4g} "
            f"(always-valid p {worst.test.always_valid_p:.2g})",
        )
    rates_tested = min(control.matured, candidate.matured) >= cfg.min_samples
    if experiment.kind == "ab":
        if not rates_tested:
            return status("wait", f"collecting: each arm needs {cfg.min_samples} matured decisions")
        return status("hold", "guardrails hold; promote or stop it when you have seen enough")
    if not rates_tested or step_samples < cfg.min_samples_per_step:
        return status(
            "wait",
            f"step {experiment.step + 1}: {step_samples}/{cfg.min_samples_per_step} "
            "matured candidate decisions",
        )
    following = experiment.step + 1
    if following < len(cfg.steps) and cfg.steps[following] < 1.0:
        return status(
            "ramp", f"guardrails held at {experiment.share:.0%}: ramp to {cfg.steps[following]:.0%}"
        )
    return status("promote", f"guardrails held at {experiment.share:.0%}: promote to 100%")


ChangeObserver = Callable[[Experiment, str], None]


def _candidate_label(version: int | None, mode: str | None) -> str:
    return f"policy v{version}" if version is not None else f"learner mode {mode}"


@dataclass
class ExperimentMonitor:
    experiments: ExperimentStore
    facts: FactsReader
    policies: PolicyStore
    clock: Callable[[], datetime]
    #: Sets a tenant's learner mode (a learner-mode experiment's promotion); None: no learner.
    set_learner_mode: Callable[[TenantId, str], None] | None = None
    every: timedelta = timedelta(seconds=60)
    #: Called after every change, with the kind (``create``, ``ramp``, ``rollback``, ...).
    observers: list[ChangeObserver] = field(default_factory=list)
    _last: dict[TenantId, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- operator actions -------------------------------------------------------------------------

    def start(
        self,
        tenant_id: TenantId,
        *,
        kind: Kind,
        candidate_version: int | None = None,
        candidate_mode: LearnerMode | None = None,
        name: str = "",
        settings: ExperimentSettings | None = None,
        by: str,
        experiment_id: str | None = None,
    ) -> Experiment:
        """Start an experiment (``experiment_id`` is made unless given: the simulator fixes it so a
        seeded run assigns the same customers every time)."""
        if (candidate_version is None) == (candidate_mode is None):
            raise InputRejected(
                "name exactly one candidate: a policy version or a learner mode", code="invalid_candidate"
            )
        active = self.policies.get_policy(tenant_id)
        if active is None:
            raise NotFound("no active policy to compare with", code="no_active_policy")
        if candidate_version is not None:
            found = self.policies.get_policy(tenant_id, candidate_version)
            if found is None:
                raise NotFound(f"no policy version {candidate_version}", code="policy_version_not_found")
            if found.version == active.version:
                raise Conflict(f"v{candidate_version} is already active", code="candidate_is_active")
            lifecycle.validate(found.source, source_name=f"policy v{candidate_version}")
        elif self.set_learner_mode is None:
            raise Conflict("this server runs without a learner (rules only)", code="learning_unavailable")
        cfg = settings or ExperimentSettings()
        share = cfg.share if kind == "ab" else cfg.steps[0]
        if share >= 1.0:
            raise InputRejected("the candidate's first share must be below 100%", code="invalid_share")
        now = self.clock()
        experiment = Experiment(
            tenant_id=tenant_id,
            experiment_id=experiment_id or new_id("exp"),
            name=name.strip()[:200] or f"{kind}: {_candidate_label(candidate_version, candidate_mode)}",
            kind=kind,
            candidate_version=candidate_version,
            candidate_mode=candidate_mode,
            control_version=active.version,
            share=share,
            step=0,
            state="running",
            settings=cfg,
            created_at=now,
            created_by=by,
            step_started_at=now,
        )
        created = self.experiments.create_experiment(experiment)
        self._notify(created, "create")
        return created

    def stop(self, tenant_id: TenantId, experiment_id: str, *, by: str) -> Experiment:
        experiment = self._running(tenant_id, experiment_id)
        return self._end(experiment, "stopped", "stop", by, {"reason": "stopped by an operator"})

    def promote(
        self, tenant_id: TenantId, experiment_id: str, *, by: str, reason: str = "promoted by an operator"
    ) -> Experiment:
        experiment = self._running(tenant_id, experiment_id)
        if experiment.candidate_version is not None:
            lifecycle.activate(self.policies, tenant_id, experiment.candidate_version, by=by)
        elif self.set_learner_mode is not None and experiment.candidate_mode is not None:
            self.set_learner_mode(tenant_id, experiment.candidate_mode)
        return self._end(experiment, "promoted", "promote", by, {"reason": reason}, share=1.0)

    # -- the monitor ------------------------------------------------------------------------------

    def status(self, experiment: Experiment) -> ExperimentStatus:
        now = self.clock()
        matured = now - timedelta(seconds=experiment.settings.outcome_window_s)
        arms = self.facts.arm_stats(experiment.tenant_id, experiment.experiment_id, matured_before=matured)
        step = None
        if experiment.kind == "canary" and experiment.running:
            since = self.facts.arm_stats(
                experiment.tenant_id,
                experiment.experiment_id,
                matured_before=matured,
                since=experiment.step_started_at,
            )
            step = since.get("candidate", ArmStats())
        return judge(experiment, arms, step)

    def check(self, tenant_id: TenantId) -> ExperimentStatus | None:
        """Judge the tenant's running experiment and act on the verdict."""
        experiment = self.experiments.running_experiment(tenant_id)
        if experiment is None:
            return None
        found = self.status(experiment)
        if found.verdict == "rollback":
            candidate = found.arms.get("candidate", ArmStats())
            self._end(
                experiment,
                "rolled_back",
                "rollback",
                "monitor",
                {
                    "reason": found.reason,
                    "guardrails": [g.as_dict() for g in found.guardrails if g.breached],
                    "exposed_decisions": candidate.decisions,
                    "exposed_customers": candidate.customers,
                },
                share=0.0,
            )
        elif found.verdict == "ramp":
            following = experiment.step + 1
            share = experiment.settings.steps[following]
            changed = self.experiments.change_experiment(
                experiment,
                {"share": share, "step": following, "step_started_at": self.clock()},
                "experiment.ramp",
                {"share": share, "step": following, "reason": found.reason, "by": "monitor"},
            )
            if changed is not None:
                self._notify(changed, "ramp")
        elif found.verdict == "promote":
            self.promote(tenant_id, experiment.experiment_id, by="monitor", reason=found.reason)
        return found

    def check_all(self) -> list[ExperimentStatus]:
        return [s for t in self.experiments.running_tenants() if (s := self.check(t)) is not None]

    def maybe_check(self, tenant_id: TenantId) -> ExperimentStatus | None:
        """``check``, at most once per ``every`` of the clock per tenant (the outcome path)."""
        now = self.clock()
        with self._lock:
            last = self._last.get(tenant_id)
            if last is not None and now - last < self.every:
                return None
            self._last[tenant_id] = now
        return self.check(tenant_id)

    def on_outcome(self, envelope: Envelope) -> None:
        """Bus handler for ``outcome.recorded``: mark the decision's facts, then maybe judge."""
        outcome = Outcome.model_validate(envelope.payload)
        self.facts.apply_outcomes([outcome])
        self.maybe_check(outcome.tenant_id)

    # -- details ----------------------------------------------------------------------------------

    def _running(self, tenant_id: TenantId, experiment_id: str) -> Experiment:
        experiment = self.experiments.get_experiment(tenant_id, experiment_id)
        if experiment is None:
            raise NotFound(f"no experiment {experiment_id!r}", code="experiment_not_found")
        if not experiment.running:
            raise Conflict(
                f"experiment {experiment_id} has ended ({experiment.state})", code="experiment_ended"
            )
        return experiment

    def _end(
        self,
        experiment: Experiment,
        state: str,
        kind: str,
        by: str,
        result: dict[str, Any],
        share: float | None = None,
    ) -> Experiment:
        now = self.clock()
        changes: dict[str, Any] = {"state": state, "ended_at": now, "ended_by": by, "result": result}
        if share is not None:
            changes["share"] = share
        changed = self.experiments.change_experiment(
            experiment, changes, f"experiment.{kind}", {"by": by, **result}
        )
        if changed is None:
            raise Conflict("the experiment changed meanwhile; look again", code="experiment_changed")
        self._notify(changed, kind)
        return changed

    def _notify(self, experiment: Experiment, kind: str) -> None:
        for observe in self.observers:
            observe(experiment, kind)


def experiments_for(
    store: Any, policies: Any, clock: Callable[[], datetime], learner: Callable[[], object]
) -> tuple[ExperimentRouter, ExperimentMonitor | None]:
    """The engine's experiment parts over a store that keeps experiments and decision facts (the
    SQL stores); over any other, a router that never assigns and no monitor."""
    router = ExperimentRouter(getattr(store, "experiments", None), policies)
    if router.store is None or getattr(store, "facts", None) is None:
        return router, None

    def set_learner_mode(tenant_id: TenantId, mode: str) -> None:
        set_mode = getattr(learner(), "set_mode", None)
        if set_mode is None:
            raise Conflict("this server runs without a learner (rules only)", code="learning_unavailable")
        set_mode(tenant_id, mode)

    monitor = ExperimentMonitor(router.store, store.facts, store, clock, set_learner_mode)
    monitor.observers.append(lambda experiment, _kind: router.invalidate(experiment.tenant_id))
    return router, monitor
