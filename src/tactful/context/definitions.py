"""Feature definitions as code: what each feature aggregates, over which window, and for how long
its value may be trusted.

A *definition set* is a YAML document (``default_features.yaml`` ships with Tactful; a tenant may
publish its own). Sets are immutable once published and named by version and content hash, so a
decision can record exactly which definitions produced the values it used.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from tactful.errors import InputRejected

if TYPE_CHECKING:
    from tactful.context.aggregations import Plan

_PLANS: dict[tuple[int, str, Level], Plan] = {}
DEFAULT_SET = Path(__file__).with_name("default_features.yaml")
EventName = Literal["message.received", "decision.made", "outcome.recorded"]
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> float:
    """``"24h"`` → 86400.0 seconds. Durations are absolute: a day is 86,400 s even across DST."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value.strip())):
        seconds = float(int(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 30m, 24h, 7d)")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_duration)]


class Aggregation(StrEnum):
    COUNT = "count"  # events in the window
    LAST = "last"  # the field of the latest event
    EWMA = "ewma"  # exponentially weighted mean of the field, in event-time order
    RATE = "rate"  # share of source events (per group) that a numerator event refers to, in the window
    OPEN = "open"  # keys (conversations) opened in the window and not closed since
    SINCE = "since"  # seconds from the latest event to the read time


class Level(StrEnum):
    CONSENT = "consent"  # protects the customer; read for every decision
    PERSONAL = "personal"  # personalisation; never computed or read when intensity is "off"


Scalar = str | int | float | bool | None


class Source(BaseModel):
    """Which events feed a feature: an event type and equality (or membership) filters on its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: EventName
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)

    def matches(self, event_type: str, payload: dict[str, Any]) -> bool:
        if event_type != self.event:
            return False
        for key, wanted in self.where.items():
            got = payload.get(key)
            if isinstance(wanted, list):
                if got not in wanted:
                    return False
            elif got != wanted:
                return False
        return True


class FeatureDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    description: str = ""
    level: Level
    aggregation: Aggregation
    sources: tuple[Source, ...] = Field(min_length=1)
    field: str | None = None  # the payload field LAST and EWMA read
    window: Seconds | None = None  # COUNT, RATE, OPEN
    ttl: Seconds | None = None  # LAST, EWMA, SINCE: older values are stale, the default is used
    alpha: float | None = Field(default=None, gt=0, le=1)  # EWMA weight of the newest value
    numerator: tuple[Source, ...] = ()  # RATE
    group_by: str | None = None  # RATE
    closed_by: tuple[Source, ...] = ()  # OPEN
    default: Any = None

    @model_validator(mode="after")
    def _complete(self) -> FeatureDefinition:
        agg = self.aggregation
        needs = {
            Aggregation.COUNT: ("window",),
            Aggregation.LAST: ("field",),
            Aggregation.EWMA: ("field", "alpha"),
            Aggregation.RATE: ("window", "numerator", "group_by"),
            Aggregation.OPEN: ("window", "closed_by"),
            Aggregation.SINCE: (),
        }[agg]
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise ValueError(f"{self.name}: aggregation {agg.value} needs {', '.join(missing)}")
        if agg in (Aggregation.COUNT, Aggregation.RATE, Aggregation.OPEN) and self.ttl is not None:
            # A windowed value is computed at read time from event times: it cannot go stale.
            raise ValueError(f"{self.name}: a windowed aggregation has a window, not a ttl")
        return self

    @property
    def horizon(self) -> float | None:
        """How far back (seconds before the newest event) the state must remember events."""
        return self.window


class DefinitionSet(BaseModel):
    """An immutable, versioned set of definitions. ``version`` 0 is the shipped default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=0)
    content_hash: str
    features: tuple[FeatureDefinition, ...]

    @property
    def label(self) -> str:
        """How decisions name it: ``default+1a2b3c4d`` or ``v2+1a2b3c4d``."""
        prefix = "default" if self.version == 0 else f"v{self.version}"
        return f"{prefix}+{self.content_hash[:8]}"

    def at_level(self, level: Level) -> tuple[FeatureDefinition, ...]:
        return tuple(f for f in self.features if f.level is level)

    def plan(self, level: Level) -> Plan:
        """The level's definitions compiled for folding (cached: sets are immutable)."""
        key = (self.version, self.content_hash, level)
        found = _PLANS.get(key)
        if found is None:
            from tactful.context.aggregations import Plan

            found = _PLANS[key] = Plan(self.at_level(level))
        return found

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: list[FeatureDefinition] = Field(min_length=1)


def parse_definitions(source: str, version: int) -> DefinitionSet:
    """Validate a YAML definition set; bad input raises ``InputRejected`` naming the problem."""
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise InputRejected(
            f"feature definitions are not valid YAML: {exc}", code="invalid_features"
        ) from exc
    try:
        document = _Document.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputRejected(
            f"invalid feature definitions at {where}: {first['msg']}", code="invalid_features"
        ) from exc
    names = [f.name for f in document.features]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputRejected(f"feature defined twice: {', '.join(duplicates)}", code="invalid_features")
    if "proactive_contacts_24h" not in names:
        # The fatigue cap reads it; a set without it would silently disable a guardrail.
        raise InputRejected("a definition set must define proactive_contacts_24h", code="invalid_features")
    return DefinitionSet(
        version=version, content_hash=content_hash(source), features=tuple(document.features)
    )


def content_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


@cache
def default_definitions() -> DefinitionSet:
    return parse_definitions(DEFAULT_SET.read_text(encoding="utf-8"), version=0)
