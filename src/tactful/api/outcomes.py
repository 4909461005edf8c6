"""``/v1/outcomes``: what happened after a decision."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.dto import OutcomeIn, OutcomeOut
from tactful.api.roles import require
from tactful.domain import DecisionId, EventId, Outcome, TenantId, new_id

router = APIRouter(prefix="/v1", tags=["outcomes"])


@router.post(
    "/outcomes", response_model=OutcomeOut, status_code=201, summary="Record an outcome of a decision"
)
def post_outcome(body: OutcomeIn, engine: EngineDep, key: CallerDep, response: Response) -> OutcomeOut:
    require(key, "admin", "decide")
    outcome = Outcome(
        event_id=EventId(body.event_id or new_id("evt")),
        tenant_id=TenantId(key.tenant_id),
        decision_id=DecisionId(body.decision_id),
        type=body.type,
        value=body.value,
        occurred_at=body.occurred_at or engine.clock(),
    )
    stored, created = engine.record_outcome(outcome)
    if not created:
        response.status_code = 200
    return OutcomeOut(
        event_id=stored.event_id,
        decision_id=stored.decision_id,
        type=stored.type,
        value=stored.value,
        occurred_at=stored.occurred_at,
        duplicate=not created,
    )
