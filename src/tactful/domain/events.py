"""Events on the bus: one envelope for all of them, so handlers can dedupe by ``event_id``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EventType = Literal["message.received", "decision.made", "outcome.recorded", "feature.recorded"]


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    type: EventType
    tenant_id: str
    key: str  # ordering key: the conversation id, so one conversation's events stay in order
    schema_version: int = 1
    occurred_at: AwareDatetime
    payload: dict[str, Any]
    #: W3C trace context (``traceparent``) of the work that produced the event, so its publication
    #: and deliveries join that trace (issue 15); empty when tracing is off.
    trace_context: dict[str, str] = Field(default_factory=dict)
