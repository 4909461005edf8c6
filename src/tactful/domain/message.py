"""An inbound customer message, as it enters the pipeline."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from tactful.domain.channels import Channel
from tactful.domain.ids import ConversationId, CustomerId, EventId, TenantId
from tactful.domain.timestamps import EventTime


class InboundMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: EventId
    tenant_id: TenantId
    customer_id: CustomerId
    conversation_id: ConversationId
    channel: Channel
    text: str
    sent_at: EventTime

    @property
    def sent_at_utc(self) -> datetime:
        return self.sent_at
