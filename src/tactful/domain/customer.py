"""What Tactful holds about a customer: profile, consent and preferences."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tactful.domain.channels import Channel
from tactful.domain.ids import CustomerId, TenantId


def _valid_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(_valid_zone)]


class Tier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"


class PersonalisationIntensity(StrEnum):
    OFF = "off"  # tenant's neutral tone; no profile features are read at all
    LOW = "low"
    STANDARD = "standard"
    FULL = "full"


class CustomerProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: Tier = Tier.STANDARD
    tenure_days: int = Field(default=0, ge=0)
    language: str = Field(default="en", min_length=2, max_length=8)
    time_zone: TimeZoneName = "UTC"
    accessibility_needs: tuple[str, ...] = ()  # e.g. "screen_reader", "hearing_impaired", "plain_language"


class QuietHours(BaseModel):
    """A daily window in the customer's local time; ``start > end`` wraps midnight (22:00–08:00)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Local wall-clock times without a zone: JSON Schema's "time" format demands an offset, so the
    # document says "partial-time" (RFC 3339's name for this), which validators do not enforce.
    start: time = Field(time(21, 0), json_schema_extra={"format": "partial-time"})
    end: time = Field(time(8, 0), json_schema_extra={"format": "partial-time"})


class Preferences(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    opted_out: frozenset[Channel] = frozenset()
    opted_in: frozenset[Channel] = frozenset()
    quiet_hours: QuietHours | None = QuietHours()
    personalisation: PersonalisationIntensity = PersonalisationIntensity.STANDARD
    preferred_channel: Channel | None = None
    do_not_contact: bool = False


class Customer(BaseModel):
    """A customer as stored: identity, profile, preferences and a version for optimistic updates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId
    customer_id: CustomerId
    profile: CustomerProfile = CustomerProfile()
    preferences: Preferences = Preferences()
    version: int = 1
