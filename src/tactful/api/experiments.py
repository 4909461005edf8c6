"""``/v1/experiments``: A/B tests and canaries of a policy version (or a learner mode) against the
active policy, with guardrails and automatic rollback (docs/experiments.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.roles import require
from tactful.engine import Engine
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.policy.experiments import Experiment, ExperimentSettings, Guardrail, Metric
from tactful.policy.rollout import ExperimentMonitor, experiment_dict

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

ExperimentPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["ab", "canary"] = "canary"
    #: The candidate: a published policy version, or a learner mode served with the active policy.
    candidate_version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    candidate_learner_mode: Literal["off", "shadow", "live"] | None = None
    name: Annotated[str, Field(max_length=200)] = ""
    share: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    steps: (
        Annotated[list[Annotated[float, Field(gt=0.0, le=1.0)]], Field(min_length=1, max_length=20)] | None
    ) = None
    alpha: Annotated[float, Field(gt=0.0, lt=0.5)] | None = None
    min_samples: Annotated[int, Field(ge=10, le=10_000_000)] | None = None
    min_samples_per_step: Annotated[int, Field(ge=10, le=10_000_000)] | None = None
    outcome_window_s: Annotated[int, Field(ge=0, le=90 * 86400)] | None = None
    guardrails: dict[Metric, Guardrail] | None = None

    def settings(self) -> ExperimentSettings:
        given = self.model_dump(
            include={
                "share",
                "steps",
                "alpha",
                "min_samples",
                "min_samples_per_step",
                "outcome_window_s",
                "guardrails",
            },
            exclude_none=True,
        )
        try:
            return ExperimentSettings.model_validate(given)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise InputRejected(detail or "invalid settings", code="invalid_experiment") from None


def monitor_of(engine: Engine) -> ExperimentMonitor:
    if engine.monitor is None:
        raise Conflict("this store keeps no experiments", code="experiments_unavailable")
    return engine.monitor


def find(engine: Engine, tenant_id: str, experiment_id: str) -> Experiment:
    found = monitor_of(engine).experiments.get_experiment(tenant_id, experiment_id)  # type: ignore[arg-type]
    if found is None:  # another tenant's experiment is indistinguishable from a missing one
        raise NotFound(f"no experiment {experiment_id!r}", code="experiment_not_found")
    return found


@router.post("", status_code=201, summary="Start an A/B test or a canary of a policy version or learner mode")
def create(body: ExperimentIn, engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    require(key, "admin")
    monitor = monitor_of(engine)
    experiment = monitor.start(
        key.tenant_id,
        kind=body.kind,
        candidate_version=body.candidate_version,
        candidate_mode=body.candidate_learner_mode,
        name=body.name,
        settings=body.settings(),
        by=f"api-key:{key.key_id}",
    )
    return monitor.status(experiment).as_dict()


@router.get("", summary="The tenant's experiments, newest first")
def list_experiments(engine: EngineDep, key: CallerDep) -> list[dict[str, Any]]:
    return [experiment_dict(e) for e in monitor_of(engine).experiments.list_experiments(key.tenant_id)]


@router.get("/{experiment_id}", summary="An experiment with its arms, guardrails and verdict")
def status(experiment_id: ExperimentPath, engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    return monitor_of(engine).status(find(engine, key.tenant_id, experiment_id)).as_dict()


@router.post("/{experiment_id}/stop", summary="Stop an experiment; the active policy stays")
def stop(experiment_id: ExperimentPath, engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    require(key, "admin")
    find(engine, key.tenant_id, experiment_id)
    return experiment_dict(monitor_of(engine).stop(key.tenant_id, experiment_id, by=f"api-key:{key.key_id}"))


@router.post("/{experiment_id}/promote", summary="Make the candidate the active policy (or learner mode)")
def promote(experiment_id: ExperimentPath, engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    require(key, "admin")
    find(engine, key.tenant_id, experiment_id)
    return experiment_dict(
        monitor_of(engine).promote(key.tenant_id, experiment_id, by=f"api-key:{key.key_id}")
    )
