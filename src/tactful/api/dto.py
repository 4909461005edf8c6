"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tactful.domain import (
    Channel,
    CustomerProfile,
    OutcomeType,
    PersonalisationIntensity,
    Preferences,
    QuietHours,
)
from tactful.domain.timestamps import EventTime

Id = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@+\-]+$")


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Id
    conversation_id: str = Id
    channel: Channel
    # No length bounds here: the guard is the one place that measures text (after normalisation)
    # and answers ``text_too_long`` / ``text_empty``, for the API and the CLI alike; the body-size
    # limit (413) bounds what reaches it.
    text: str
    event_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    sent_at: EventTime | None = None


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_id: str = Id
    type: OutcomeType
    value: float | None = Field(default=None, ge=-1e6, le=1e6)
    event_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    occurred_at: EventTime | None = None


class OutcomeOut(BaseModel):
    event_id: str
    decision_id: str
    type: OutcomeType
    value: float | None
    occurred_at: datetime
    duplicate: bool


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: CustomerProfile = CustomerProfile()
    preferences: Preferences | None = None  # None keeps the stored preferences


class PreferencesPatch(BaseModel):
    """Fields of ``Preferences`` to change; the ones left out keep their stored values."""

    model_config = ConfigDict(extra="forbid")

    opted_out: frozenset[Channel] | None = None
    opted_in: frozenset[Channel] | None = None
    quiet_hours: QuietHours | None = None
    personalisation: PersonalisationIntensity | None = None
    preferred_channel: Channel | None = None
    do_not_contact: bool | None = None


class CustomerOut(BaseModel):
    customer_id: str
    profile: CustomerProfile
    preferences: Preferences
    version: int


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=256_000, description="the policy YAML")
    activate: bool = False


class PolicyOut(BaseModel):
    version: int
    label: str
    content_hash: str
    active: bool
    created_at: datetime
    created_by: str
    source: str | None = None
