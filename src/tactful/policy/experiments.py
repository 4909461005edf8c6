"""Experiments: an A/B test or a canary of a policy version, or of a learner mode, against the
tenant's active policy (docs/experiments.md).

**Assignment.** A customer's arm is a stable hash of the experiment id and the customer id
(``assign_arm``): the same customer always lands in the same arm of an experiment, whichever
process decides, and as a canary's share grows (5 % → 25 % → 50 %) customers only ever move from
control to candidate, never back. Every decision records ``experiment`` and ``arm``.

**Life.** ``running`` → ``rolled_back`` (a guardrail showed harm; automatic), ``promoted`` (the
candidate became the active policy or learner mode) or ``stopped`` (by an operator). At most one
experiment runs per tenant. Every change is an audit entry written in the same transaction.

``ExperimentRouter`` is the decision path's part: which compiled policy serves this customer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tactful.domain import CustomerId, Outcome, TenantId
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.loader import load_policy

ARMS = ("control", "candidate")
Kind = Literal["ab", "canary"]
State = Literal["running", "rolled_back", "promoted", "stopped"]
LearnerMode = Literal["off", "shadow", "live"]
Metric = Literal["resolution", "csat", "recontact", "complaint", "opt_out", "escalation", "latency"]
METRICS: tuple[Metric, ...] = (
    "resolution",
    "csat",
    "recontact",
    "complaint",
    "opt_out",
    "escalation",
    "latency",
)
DEFAULT_STEPS = (0.05, 0.25, 0.5, 1.0)
Share = Annotated[float, Field(gt=0.0, le=1.0)]


class Guardrail(BaseModel):
    """How much worse the candidate may look before it counts as harm, and the test's scale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Tolerated harm: absolute for rates (0.02 = two points) and CSAT (stars), relative for
    #: latency (0.2 = 20 % slower).
    margin: Annotated[float, Field(ge=0.0, le=10.0)]
    #: The mixture's scale τ (same units as ``margin``): the size of effect the test is tuned for.
    scale: Annotated[float, Field(gt=0.0, le=10.0)]


def _default_guardrails() -> dict[Metric, Guardrail]:
    return {
        "resolution": Guardrail(margin=0.02, scale=0.05),
        "csat": Guardrail(margin=0.1, scale=0.3),
        "recontact": Guardrail(margin=0.02, scale=0.05),
        "complaint": Guardrail(margin=0.01, scale=0.03),
        "opt_out": Guardrail(margin=0.005, scale=0.02),
        "escalation": Guardrail(margin=0.02, scale=0.05),
        "latency": Guardrail(margin=0.2, scale=0.2),
    }


class ExperimentSettings(BaseModel):
    """Everything about an experiment besides its candidate; defaults in docs/experiments.md."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A/B: the candidate's share for the whole run. Canary: the ramp, each step a share; a step of
    #: 1.0 (or running out of steps) is the promotion.
    share: Share = 0.5
    steps: tuple[Share, ...] = DEFAULT_STEPS
    #: Overall false-alarm rate of the guardrails, split evenly across them (Bonferroni).
    alpha: Annotated[float, Field(gt=0.0, lt=0.5)] = 0.05
    #: Matured decisions each arm needs before any guardrail is tested (the normal approximation).
    min_samples: Annotated[int, Field(ge=10, le=10_000_000)] = 100
    #: Canary: matured candidate decisions a step needs, with every guardrail holding, to ramp on.
    min_samples_per_step: Annotated[int, Field(ge=10, le=10_000_000)] = 200
    #: A decision's rates (resolution, re-contact, ...) count once this long has passed since it
    #: was made, so outcomes still on their way do not flatter either arm.
    outcome_window_s: Annotated[int, Field(ge=0, le=90 * 86400)] = 86400
    guardrails: dict[Metric, Guardrail] = Field(default_factory=_default_guardrails)

    @model_validator(mode="after")
    def _increasing(self) -> ExperimentSettings:
        if list(self.steps) != sorted(set(self.steps)):
            raise ValueError("steps must increase strictly, e.g. [0.05, 0.25, 0.5, 1.0]")
        return self


@dataclass(frozen=True)
class Experiment:
    tenant_id: TenantId
    experiment_id: str
    name: str
    kind: Kind
    candidate_version: int | None  # a policy version, or
    candidate_mode: LearnerMode | None  # a learner mode, served with the active policy
    control_version: int  # the version active when it started (for the record)
    share: float  # the candidate's share now
    step: int  # canary: index into settings.steps
    state: State
    settings: ExperimentSettings
    created_at: datetime
    created_by: str
    step_started_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    result: dict[str, Any] | None = None
    revision: int = 1

    @property
    def candidate(self) -> str:
        if self.candidate_version is not None:
            return f"policy v{self.candidate_version}"
        return f"learner mode {self.candidate_mode}"

    @property
    def running(self) -> bool:
        return self.state == "running"


def assign_arm(experiment_id: str, customer_id: str, share: float) -> str:
    """``candidate`` for the first ``share`` of the hash space, else ``control``: stable per customer,
    independent across experiments, and monotone in ``share``."""
    digest = hashlib.sha256(f"{experiment_id}\x00{customer_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "candidate" if position < share else "control"


@dataclass(frozen=True)
class ArmStats:
    """One arm's figures: all its decisions (latency, exposure) and the matured ones (rates)."""

    decisions: int = 0
    customers: int = 0
    latency_sum: float = 0.0
    latency_sq: float = 0.0
    matured: int = 0
    resolved: int = 0
    recontact: int = 0
    complaint: int = 0
    opted_out: int = 0
    escalated: int = 0
    csat_n: int = 0
    csat_sum: float = 0.0
    csat_sq: float = 0.0


@dataclass(frozen=True)
class Assignment:
    experiment_id: str
    arm: str


class ExperimentStore(Protocol):
    def create_experiment(self, experiment: Experiment) -> Experiment:
        """Insert (audited ``experiment.create``); Conflict when one already runs for the tenant."""
        ...

    def get_experiment(self, tenant_id: TenantId, experiment_id: str) -> Experiment | None: ...
    def list_experiments(self, tenant_id: TenantId) -> list[Experiment]: ...
    def running_experiment(self, tenant_id: TenantId) -> Experiment | None: ...
    def running_tenants(self) -> list[TenantId]: ...

    def change_experiment(
        self, experiment: Experiment, changes: Mapping[str, Any], audit_kind: str, audit: dict[str, Any]
    ) -> Experiment | None:
        """Apply ``changes`` if the stored revision is still ``experiment.revision`` (else None:
        another process changed it first), with the audit entry in the same transaction."""
        ...


class FactsReader(Protocol):
    """What the monitor reads and writes of the decisions' read model (``decision_facts``)."""

    def arm_stats(
        self,
        tenant_id: TenantId,
        experiment_id: str,
        *,
        matured_before: datetime,
        since: datetime | None = None,
    ) -> dict[str, ArmStats]: ...

    def apply_outcomes(self, found: Sequence[Outcome]) -> int: ...


class PolicySource(Protocol):
    """What the router needs of ``ActivePolicies``."""

    def get(self, tenant_id: TenantId) -> CompiledPolicy: ...
    def version(self, tenant_id: TenantId, version: int) -> CompiledPolicy: ...


@dataclass
class _Cached:
    experiment: Experiment | None
    read_at: float


@dataclass
class ExperimentRouter:
    """Which compiled policy serves a customer, and the arm to record. The tenant's running
    experiment is re-read at most every ``ttl_s`` seconds per process (changes made through
    ``invalidate`` apply at once); without an experiment it costs one dictionary lookup."""

    store: ExperimentStore | None
    policies: PolicySource
    ttl_s: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[TenantId, _Cached] = field(default_factory=dict)
    _derived: dict[tuple[str, str], CompiledPolicy] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def assign(
        self, tenant_id: TenantId, customer_id: CustomerId
    ) -> tuple[CompiledPolicy, Assignment | None]:
        active = self.policies.get(tenant_id)
        experiment = self._running(tenant_id)
        if experiment is None:
            return active, None
        arm = assign_arm(experiment.experiment_id, customer_id, experiment.share)
        assignment = Assignment(experiment.experiment_id, arm)
        if arm == "control":
            return active, assignment
        return self._candidate(tenant_id, experiment, active), assignment

    def invalidate(self, tenant_id: TenantId) -> None:
        self._cache.pop(tenant_id, None)

    def _running(self, tenant_id: TenantId) -> Experiment | None:
        if self.store is None:
            return None
        cached = self._cache.get(tenant_id)
        now = self.monotonic()
        if cached is None or now - cached.read_at >= self.ttl_s:
            cached = _Cached(self.store.running_experiment(tenant_id), now)
            self._cache[tenant_id] = cached
        return cached.experiment

    def _candidate(
        self, tenant_id: TenantId, experiment: Experiment, active: CompiledPolicy
    ) -> CompiledPolicy:
        if experiment.candidate_version is not None:
            return self.policies.version(tenant_id, experiment.candidate_version)
        mode = experiment.candidate_mode or "off"
        key = (active.version_label, mode)
        derived = self._derived.get(key)
        if derived is None:
            with self._lock:
                derived = self._derived.get(key) or with_learner_mode(active, mode)
                self._derived[key] = derived
        return derived


def with_learner_mode(policy: CompiledPolicy, mode: str) -> CompiledPolicy:
    """The same policy with another ``learning.mode`` (a learner-mode experiment's candidate)."""
    data = policy.document.model_dump(mode="json", by_alias=True)
    data["learning"] = {**data.get("learning", {}), "mode": mode}
    import yaml

    return load_policy(
        yaml.safe_dump(data, sort_keys=False),
        source_name=f"{policy.version_label} with learner mode {mode}",
        version_label=policy.version_label,
    )
