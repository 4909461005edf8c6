"""The feature-store interface: what the engine, the API and the CLI call.

``SqlFeatureStore`` (``tactful.store.sql_features``) implements it on SQLite and PostgreSQL: the
event log, the definitions and the materialised per-customer state all live in the database, the
source of truth. The Redis hot store (``tactful.context.hot``) is not another implementation: it
keeps a copy of the materialised state that the decision path reads in place of SQL's, and falls
back to SQL when the copy is stale or Redis is down (docs/context.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from tactful.context.aggregations import FeatureValue
from tactful.context.definitions import DefinitionSet
from tactful.context.events import FeatureEvent
from tactful.domain import Preferences

Progress = Callable[[int, int], None]  # (customers done, customers total)


@dataclass(frozen=True)
class CustomerFacts:
    """A stored customer as the context loader reads it."""

    preferences: Preferences
    time_zone: str
    accessibility_needs: tuple[str, ...]
    profile_json: str | None  # None when personalisation is off: the store did not return it


@dataclass(frozen=True)
class FeatureVector:
    """The features one read returned, with the definitions that produced them."""

    version: int
    definitions: str  # the definition set's label, e.g. "default+1a2b3c4d"
    values: dict[str, FeatureValue]
    personal: bool  # False: personal features were neither read nor computed
    read_at: datetime

    def plain(self) -> dict[str, Any]:
        """Name → value, as policy conditions see them (defaults in place of stale values)."""
        return {name: v.value for name, v in self.values.items()}

    @property
    def stale(self) -> tuple[str, ...]:
        return tuple(name for name, v in self.values.items() if v.stale)

    def record(self) -> dict[str, Any]:
        """The point-in-time record a decision stores: every value with its times and the version."""
        # What ``FeatureValue.as_dict`` gives for each value, with each distinct time formatted
        # once: the values of one state share their ``computed_at`` (a dozen per decision).
        formatted: dict[tuple[datetime, timedelta | None], str] = {}

        def iso(at: datetime) -> str:
            key = (at, at.utcoffset())  # equal instants print alike only with the same offset
            text = formatted.get(key)
            if text is None:
                text = formatted[key] = at.isoformat()
            return text

        values: dict[str, Any] = {}
        for name, v in sorted(self.values.items()):
            values[name] = {
                "value": v.value,
                "as_of": None if v.as_of_ts is None else iso(datetime.fromtimestamp(v.as_of_ts, UTC)),
                "computed_at": None if v.computed_at is None else iso(v.computed_at),
                "stale": v.stale,
                "missing": v.missing,
            }
        return {
            "definitions": self.definitions,
            "version": self.version,
            "read_at": self.read_at.isoformat(),
            "personal": self.personal,
            "values": values,
        }


@dataclass(frozen=True)
class RebuildReport:
    tenants: int = 0
    customers: int = 0
    events: int = 0
    seconds: float = 0.0
    versions: dict[str, list[int]] = field(default_factory=dict)  # tenant → versions rebuilt


@dataclass(frozen=True)
class DefinitionRecord:
    tenant_id: str
    version: int
    content_hash: str
    status: str  # published | backfilled | active | retired
    created_at: datetime
    created_by: str


class FeatureStore(Protocol):
    def read_for_decision(
        self, tenant_id: str, customer_id: str, now: datetime
    ) -> tuple[CustomerFacts | None, FeatureVector]:
        """One decision's read: the customer's facts (None: never stored) and the features at
        ``now``. The profile and the personal features are only returned — and only fetched —
        when the customer's personalisation is not off."""
        ...

    def ingest(self, events: Sequence[FeatureEvent], *, personal: bool | None = None) -> int:
        """Append events to the log (idempotent by event id) and update every live definition
        version's state, in event-time order. ``personal`` says whether personal features may be
        computed for these customers; None looks it up. Returns how many events were new."""
        ...

    def read(self, tenant_id: str, customer_id: str, now: datetime, *, personal: bool) -> FeatureVector:
        """The active definitions' values at ``now``; with ``personal=False`` only consent-level ones."""
        ...

    def as_of(
        self,
        tenant_id: str,
        customer_id: str,
        at: datetime,
        *,
        version: int | None = None,
        personal: bool = True,
    ) -> FeatureVector:
        """Values as they were known at ``at`` (events that happened AND arrived by then), computed
        from the log: for off-policy evaluation and audits."""
        ...

    def rebuild(
        self,
        tenant_id: str | None = None,
        *,
        since: datetime | None = None,
        version: int | None = None,
        progress: Progress | None = None,
    ) -> RebuildReport:
        """Recompute state from the log (every customer, or those with events since ``since``)."""
        ...

    def erase_customer(self, tenant_id: str, customer_id: str) -> int:
        """Delete the customer's events and feature state (erasure); returns how many events went."""
        ...


class FeatureDefinitionStore(Protocol):
    def publish_definitions(self, tenant_id: str, source: str, by: str) -> DefinitionRecord: ...
    def activate_definitions(self, tenant_id: str, version: int) -> DefinitionRecord: ...
    def list_definitions(self, tenant_id: str) -> list[DefinitionRecord]: ...
    def definitions(self, tenant_id: str, version: int | None = None) -> DefinitionSet:
        """A version's set (the active one when None; the shipped default when none is active)."""
        ...
