"""Experiments: the list, one experiment's arms and guardrails, start one, stop or promote it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from tactful.api.console.web import (
    ConsoleError,
    UserDep,
    call,
    engine_of,
    form,
    page,
    redirect,
    require_admin,
)
from tactful.policy.experiments import ExperimentSettings
from tactful.policy.rollout import ExperimentMonitor, experiment_dict

router = APIRouter(prefix="/console/experiments", include_in_schema=False)
ExperimentPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _monitor(request: Request) -> ExperimentMonitor:
    monitor = engine_of(request).monitor
    if monitor is None:
        raise ConsoleError(409, "experiments_unavailable", "this store keeps no experiments")
    return monitor


@router.get("")
async def experiments(
    request: Request, user: UserDep, note: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    monitor = _monitor(request)
    store: Any = engine_of(request).store
    found = await call(monitor.experiments.list_experiments, user.tenant_id)
    versions = await call(store.list_policies, user.tenant_id)
    return page(
        request,
        "experiments.html",
        user,
        experiments=[experiment_dict(e) for e in found],
        candidates=[v for v in reversed(versions) if not v.active],
        defaults=ExperimentSettings(),
        note=note,
    )


@router.post("")
async def start(request: Request, user: UserDep) -> Response:
    fields = await form(request, user.csrf)
    require_admin(user, "start an experiment")
    kind = fields.get("kind", "canary")
    if kind not in ("ab", "canary"):
        raise ConsoleError(422, "invalid_experiment", "kind must be ab or canary")
    given: dict[str, Any] = {}
    try:
        if fields.get("share"):
            given["share"] = float(fields["share"]) / 100
        if fields.get("steps"):
            given["steps"] = [float(s) / 100 for s in fields["steps"].split(",") if s.strip()]
        for name in ("min_samples", "min_samples_per_step"):
            if fields.get(name):
                given[name] = int(fields[name])
        if fields.get("outcome_window_h"):
            given["outcome_window_s"] = int(float(fields["outcome_window_h"]) * 3600)
        settings = ExperimentSettings.model_validate(given)
        candidate = int(fields.get("candidate_version", ""))
    except (ValueError, ValidationError) as exc:
        raise ConsoleError(422, "invalid_experiment", f"check the numbers: {exc}"[:400]) from None
    experiment = await call(
        _monitor(request).start,
        user.tenant_id,
        kind=kind,
        candidate_version=candidate,
        name=fields.get("name", ""),
        settings=settings,
        by=f"console:{user.key_id}",
    )
    return redirect(f"/console/experiments/{experiment.experiment_id}")


@router.get("/{experiment_id}")
async def experiment(
    request: Request,
    user: UserDep,
    experiment_id: ExperimentPath,
    confirm: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    monitor = _monitor(request)
    found = await call(monitor.experiments.get_experiment, user.tenant_id, experiment_id)
    if found is None:
        raise ConsoleError(404, "experiment_not_found", f"no experiment {experiment_id}")
    status = await call(monitor.status, found)
    return page(
        request,
        "experiment.html",
        user,
        e=status.as_dict(),
        confirm=confirm if confirm in ("stop", "promote") else "",
    )


@router.post("/{experiment_id}/{action}")
async def act(request: Request, user: UserDep, experiment_id: ExperimentPath, action: str) -> Response:
    fields = await form(request, user.csrf)
    require_admin(user, f"{action} an experiment")
    if action not in ("stop", "promote"):
        raise ConsoleError(404, "not_found", "no such action")
    if fields.get("confirm") != "yes":
        raise ConsoleError(400, "not_confirmed", f"to {action} needs the confirmation step")
    monitor = _monitor(request)
    if await call(monitor.experiments.get_experiment, user.tenant_id, experiment_id) is None:
        raise ConsoleError(404, "experiment_not_found", f"no experiment {experiment_id}")
    run = monitor.stop if action == "stop" else monitor.promote
    await call(run, user.tenant_id, experiment_id, by=f"console:{user.key_id}")
    return redirect(f"/console/experiments/{experiment_id}")
