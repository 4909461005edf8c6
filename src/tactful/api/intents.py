"""``/v1/intents``: a tenant's own intent examples and the intent model trained on them (issue 3)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.roles import require
from tactful.signals.tenant_intents import MAX_LABEL, MAX_TEXT, add_and_train

router = APIRouter(prefix="/v1", tags=["intents"])


class IntentExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    label: str = Field(min_length=1, max_length=MAX_LABEL, description="an intent name; `oos` = out of scope")


class IntentModelOut(BaseModel):
    version: int
    n_examples: int
    labels: list[str]
    threshold: float = Field(description="top probability below which a message is out of scope (`oos`)")
    metrics: dict[str, float] = Field(description="held-out figures measured while training")


@router.post(
    "/intents/examples",
    response_model=IntentModelOut,
    status_code=201,
    summary="Add labelled intent examples and retrain the tenant's intent model",
)
async def post_examples(body: list[IntentExampleIn], engine: EngineDep, key: CallerDep) -> IntentModelOut:
    require(key, "admin")
    examples = [(e.text, e.label) for e in body]
    # Training takes seconds of CPU: off the event loop.
    result = await run_in_threadpool(add_and_train, engine.store, key.tenant_id, examples)
    await run_in_threadpool(engine.invalidation.announce, "intents", key.tenant_id)
    return IntentModelOut(
        version=result.version,
        n_examples=result.n_examples,
        labels=list(result.labels),
        threshold=result.threshold,
        metrics=result.metrics,
    )
