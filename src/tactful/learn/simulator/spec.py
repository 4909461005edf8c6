"""The population spec: who the simulated customers are and what they (secretly) prefer.

Validated with pydantic (``extra="forbid"``): a misspelt key is an error naming its path. The schema is
documented in ``docs/learning.md``; ``examples/populations/*.yaml`` are worked examples.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from tactful.domain import Channel, Tier
from tactful.domain.customer import TimeZoneName
from tactful.errors import InputRejected
from tactful.policy.schema import ToneStyleName

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[float, Field(gt=0.0, le=1e6)]
Shift = Annotated[float, Field(ge=-1.0, le=1.0)]
_HOURS = re.compile(r"^([01]?[0-9]|2[0-3])-([01]?[0-9]|2[0-4])$")


def _hour_ranges(value: dict[str, float]) -> dict[str, float]:
    for key, p in value.items():
        if key != "default" and not _HOURS.match(key):
            raise ValueError(f"availability key {key!r}: expected 'default' or an hour range like '08-22'")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"availability {key!r}: {p} is not a probability in [0, 1]")
    return value


HourMap = Annotated[dict[str, float], AfterValidator(_hour_ranges)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Situation(_Strict):
    """What a customer writes about: the message's signals, as the signal extractors would report."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    weight: Weight = 1.0
    intent: str = Field(default="other", min_length=1, max_length=32)
    valence: Annotated[float, Field(ge=-1, le=1)] = 0.0
    anger: Probability = 0.0
    urgency: Probability = 0.0
    frustration: Probability = 0.0
    intent_confidence: Probability = 0.9
    wants_human: Probability = 0.0  # how clearly the message asks for a person


class ProfileSpec(_Strict):
    tier: Tier = Tier.STANDARD
    tenure_days: int = Field(default=365, ge=0)
    language: str = Field(default="en", min_length=2, max_length=8)
    time_zone: TimeZoneName = "UTC"


class Segment(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    weight: Weight = 1.0
    profile: ProfileSpec = ProfileSpec()
    features: dict[str, str | int | float | bool] = Field(default_factory=dict)
    inbound: dict[Channel, Weight] = Field(default_factory=lambda: {Channel.CHAT: 1.0}, min_length=1)
    opted_out: dict[Channel, Probability] = Field(default_factory=dict)  # share opted out per channel
    do_not_contact: Probability = 0.0
    # P(resolved | the customer replied), per channel; channels not listed use `default_quality`.
    channel_pref: dict[Channel, Probability] = Field(default_factory=dict)
    default_quality: Probability = 0.3
    # P(the customer replies) per channel by local hour ("08-22", wrapping "22-06", or "default").
    availability: dict[Channel, HourMap] = Field(default_factory=dict)
    # Added to P(resolved) per tone style, by situation name ("default" applies to every situation).
    tone_pref: dict[str, dict[ToneStyleName, Shift]] = Field(default_factory=dict)


class Drift(_Strict):
    """From ``at`` (a fraction of the run) on, the segment's preferences change to these (merged)."""

    at: Annotated[float, Field(gt=0.0, lt=1.0)]
    segment: str
    channel_pref: dict[Channel, Probability] = Field(default_factory=dict)
    tone_pref: dict[str, dict[ToneStyleName, Shift]] = Field(default_factory=dict)


Hours = Annotated[float, Field(gt=0.0, le=24 * 365)]


class OutcomeDelays(_Strict):
    """Mean delay in hours from the decision to each outcome."""

    replied: Hours = 1.0
    resolved: Hours = 6.0
    csat: Hours = 12.0
    complaint: Hours = 8.0
    recontact: Hours = 16.0


class PopulationSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    customers: int = Field(default=1000, ge=1, le=1_000_000)
    days: Annotated[float, Field(gt=0, le=3650)] = 14.0
    reward_noise: Annotated[float, Field(ge=0.0, le=5.0)] = 0.1
    complaint_rate: Probability = 0.1  # P(complaint | replied and not resolved)
    situations: list[Situation] = Field(min_length=1)
    segments: list[Segment] = Field(min_length=1)
    drift: list[Drift] = Field(default_factory=list)
    # When outcomes arrive after the decision (mean hours, exponential): an outcome after the policy's
    # reward window is logged but not learned from, and nothing is learned before the window closes.
    outcome_delays: OutcomeDelays = Field(default_factory=OutcomeDelays)
    # P(the customer writes again | not resolved): a re-contact outcome, counted in the reward.
    recontact_rate: Probability = 0.5
    # Each proactive contact in the past 24 h multiplies P(reply) by (1 - fatigue).
    fatigue: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.15

    @model_validator(mode="after")
    def _references(self) -> PopulationSpec:
        segments = {s.name for s in self.segments}
        situations = {s.name for s in self.situations}
        if len(segments) != len(self.segments):
            raise ValueError("segment names must be unique")
        if len(situations) != len(self.situations):
            raise ValueError("situation names must be unique")
        for drift in self.drift:
            if drift.segment not in segments:
                raise ValueError(f"drift names unknown segment {drift.segment!r}")
        for segment in self.segments:
            for key in segment.tone_pref:
                if key != "default" and key not in situations:
                    raise ValueError(f"segment {segment.name}: tone_pref names unknown situation {key!r}")
        return self


def load_spec(path: str | Path) -> PopulationSpec:
    file = Path(path)
    try:
        data: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputRejected(f"cannot read population spec {file}: {exc}", code="spec_unreadable") from None
    except yaml.YAMLError as exc:
        raise InputRejected(f"{file}: not valid YAML: {exc}", code="invalid_spec") from None
    return parse_spec(data, source=str(file))


def parse_spec(data: Any, *, source: str = "<spec>") -> PopulationSpec:
    if not isinstance(data, dict):
        raise InputRejected(f"{source}: a population spec must be a YAML mapping", code="invalid_spec")
    try:
        return PopulationSpec.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()[:8]
        ]
        raise InputRejected(
            f"{source}: invalid population spec:\n" + "\n".join(lines), code="invalid_spec"
        ) from None


def availability(hours: dict[str, float] | None, hour: int) -> float:
    """P(reply) at a local hour; 1.0 when the channel lists nothing."""
    if not hours:
        return 1.0
    for key, p in hours.items():
        if key == "default":
            continue
        start, end = (int(x) for x in key.split("-"))
        inside = start <= hour < end if start <= end else (hour >= start or hour < end)
        if inside:
            return p
    return hours.get("default", 1.0)
