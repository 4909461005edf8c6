"""``/v1/messages`` and ``/v1/decisions``: ask for a decision, read one back."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tactful.api.deps import CallerDep, EngineDep, KeyCheckerDep, caller_on_worker, checks_key_itself
from tactful.api.dto import MessageIn
from tactful.api.roles import require
from tactful.domain import (
    ConversationId,
    CustomerId,
    Decision,
    DecisionId,
    EventId,
    InboundMessage,
    TenantId,
    new_id,
)
from tactful.engine import Engine
from tactful.errors import NotFound
from tactful.tenants import Authenticator

router = APIRouter(prefix="/v1", tags=["decisions"])


def _json(decision: Decision, status: int = 200) -> Response:
    # Serialise once with pydantic-core instead of letting FastAPI re-validate the model.
    return Response(decision.model_dump_json(), status_code=status, media_type="application/json")


@router.post("/messages", response_model=Decision, summary="Decide tone, channel and action for a message")
@checks_key_itself
def post_message(body: MessageIn, request: Request, engine: EngineDep, auth: KeyCheckerDep) -> Response:
    # Most requests never get here: ``fast_path.MessagesFastPath`` answers a body that validates
    # with ``decide_message`` below; this route answers the rest (and documents the operation).
    return decide_message(request, body, engine, auth)


def decide_message(request: Request, body: MessageIn, engine: Engine, auth: Authenticator) -> Response:
    """The hot path: the key check and the decision share one worker thread (see
    ``caller_on_worker``); every other handler depends on ``caller`` instead."""
    key = caller_on_worker(request, auth)
    require(key, "admin", "decide")
    message = InboundMessage(
        event_id=EventId(body.event_id or new_id("evt")),
        tenant_id=key.tenant_id,
        customer_id=CustomerId(body.customer_id),
        conversation_id=ConversationId(body.conversation_id),
        channel=body.channel,
        text=body.text,
        sent_at=body.sent_at or engine.clock(),
    )
    return _json(engine.decide(message))


@router.get("/decisions/{decision_id}", response_model=Decision, summary="A decision with its explanation")
def get_decision(decision_id: str, engine: EngineDep, key: CallerDep) -> Response:
    decision = engine.store.get_decision(TenantId(key.tenant_id), DecisionId(decision_id))
    if decision is None:  # another tenant's decision is indistinguishable from a missing one
        raise NotFound(f"no decision {decision_id!r}", code="decision_not_found")
    return _json(decision)
