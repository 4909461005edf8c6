"""``/v1/learning``: the tenant's learning mode and status (shadow agreement, rewards, model version)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.roles import require
from tactful.domain import TenantId
from tactful.errors import Conflict
from tactful.learn.bandit import BanditLearner

router = APIRouter(prefix="/v1/learning", tags=["learning"])


class ModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "policy" removes the override: the policy's learning.mode applies again.
    mode: Literal["off", "shadow", "live", "policy"]


def _learner(engine: Any) -> BanditLearner:
    learner = engine.learner
    if not isinstance(learner, BanditLearner):
        raise Conflict("this server runs without a learner (rules only)", code="learning_unavailable")
    return learner


@router.get("/status", summary="Learning mode, model version, rewards and shadow agreement")
def status(engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    require(key, "admin", "auditor")
    return _learner(engine).status(TenantId(key.tenant_id))


@router.put("/mode", summary="Set the tenant's learning mode (overrides the policy)")
def set_mode(body: ModeIn, engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    require(key, "admin")
    learner = _learner(engine)
    learner.set_mode(TenantId(key.tenant_id), None if body.mode == "policy" else body.mode)
    return learner.status(TenantId(key.tenant_id))
