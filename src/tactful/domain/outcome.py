"""What happened after a decision: the raw material for rewards and features."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tactful.domain.ids import DecisionId, EventId, TenantId
from tactful.domain.timestamps import EventTime


class OutcomeType(StrEnum):
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"
    CSAT = "csat"
    RESOLVED = "resolved"
    RECONTACT = "recontact"
    ESCALATED = "escalated"
    COMPLAINT = "complaint"
    OPTED_OUT = "opted_out"


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: EventId
    tenant_id: TenantId
    decision_id: DecisionId
    type: OutcomeType
    value: float | None = Field(default=None, description="CSAT 1–5; otherwise optional")
    occurred_at: EventTime
