"""``GET /v1/customers/{id}/context``: what a decision would know about the customer, and how fresh.

Admin only (an auditor may not read customer profiles, see ``roles``). The answer is minimised the
same way a decision's read is: with personalisation ``off`` it carries no profile and no personal
features. ``?as_of=`` recomputes the features from the event log as they were known at that time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from tactful.api.customers import CustomerPath
from tactful.api.deps import CallerDep, EngineDep
from tactful.api.roles import require
from tactful.context import CustomerContext, FeatureVector, load_context
from tactful.domain import CustomerId, CustomerProfile, Preferences
from tactful.domain.timestamps import EventTime
from tactful.errors import NotFound

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class FeatureOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: Any
    as_of: datetime | None  # event time of the newest event the value reflects
    computed_at: datetime | None
    stale: bool  # past its TTL: the value shown is the default
    missing: bool  # no event yet: the value shown is the default


class ContextOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    known: bool
    personalisation: str
    preferences: Preferences
    profile: CustomerProfile | None  # null when personalisation is off: not read
    time_zone: str
    accessibility_needs: list[str]
    read_at: datetime
    definitions: str  # the feature definition set's label, e.g. "default+1a2b3c4d"
    definition_version: int
    features: dict[str, FeatureOut]


def context_out(ctx: CustomerContext, vector: FeatureVector) -> ContextOut:
    return ContextOut(
        customer_id=ctx.customer_id,
        known=ctx.known,
        personalisation=ctx.preferences.personalisation.value,
        preferences=ctx.preferences,
        profile=ctx.profile,
        time_zone=ctx.time_zone,
        accessibility_needs=list(ctx.features.get("accessibility_needs", [])),
        read_at=vector.read_at,
        definitions=vector.definitions,
        definition_version=vector.version,
        features={name: FeatureOut(**v.as_dict()) for name, v in sorted(vector.values.items())},
    )


def read_context(
    source: Any, tenant_id: str, customer_id: str, now: datetime, as_of: datetime | None
) -> ContextOut:
    ctx = load_context(source, tenant_id, CustomerId(customer_id), now)  # type: ignore[arg-type]
    assert ctx.vector is not None
    if not ctx.known and all(v.missing for v in ctx.vector.values.values()):
        # Neither a stored profile nor a single event: a customer we know nothing about.
        raise NotFound(f"no customer {customer_id!r}", code="customer_not_found")
    vector = (
        ctx.vector if as_of is None else source.as_of(tenant_id, customer_id, as_of, personal=ctx.personal)
    )
    return context_out(ctx, vector)


@router.get(
    "/{customer_id}/context",
    response_model=ContextOut,
    summary="Profile, preferences and features with their as-of times, freshness and definition version",
)
def get_context(
    customer_id: CustomerPath,
    engine: EngineDep,
    key: CallerDep,
    as_of: Annotated[EventTime | None, Query(description="features as known at this time")] = None,
) -> ContextOut:
    require(key, "admin")
    return read_context(engine.features, key.tenant_id, customer_id, engine.clock(), as_of)
