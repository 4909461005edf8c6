"""Loads what a decision may know about the customer — and no more than consent allows.

Consent-level facts are always read: preferences and consent, the time zone (quiet hours), the
accessibility needs (no voice for a deaf customer) and the proactive-contact counts (the fatigue
cap): honouring an opt-out or a cap is not personalisation. The profile and the personal features
are read only when the customer's personalisation intensity is not ``off`` — and then not read at
all, rather than read and ignored: the store decides it in the query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from tactful.context.feature_store import CustomerFacts, FeatureVector
from tactful.domain import CustomerId, CustomerProfile, PersonalisationIntensity, Preferences, TenantId


class ContextSource(Protocol):
    """What the loader reads: the part of ``FeatureStore`` on the decision path."""

    def read_for_decision(
        self, tenant_id: str, customer_id: str, now: datetime
    ) -> tuple[CustomerFacts | None, FeatureVector]: ...


@dataclass(frozen=True)
class CustomerContext:
    customer_id: CustomerId
    known: bool  # False: a customer we have never stored; defaults apply
    preferences: Preferences
    profile: CustomerProfile | None  # None when personalisation is off: never read
    time_zone: str  # needed for quiet hours even when personalisation is off
    features: dict[str, Any] = field(default_factory=dict)  # name → value, as policy conditions see them
    vector: FeatureVector | None = None  # the same values with their times and definition version
    notes: tuple[str, ...] = ()  # for the explanation, e.g. a stale feature replaced by its default
    degradations: tuple[str, ...] = ()

    @property
    def personal(self) -> bool:
        return self.preferences.personalisation is not PersonalisationIntensity.OFF


@lru_cache(maxsize=4096)
def _profile(document: str) -> CustomerProfile:
    """Parsed by stored JSON (immutable): a customer's next decision skips the validation."""
    return CustomerProfile.model_validate_json(document)


def load_context(
    source: ContextSource,
    tenant_id: TenantId,
    customer_id: CustomerId,
    now: datetime,
    read: tuple[CustomerFacts | None, FeatureVector] | None = None,
) -> CustomerContext:
    """``read``: what ``source.read_for_decision`` would return, when the caller read it already
    (the engine's combined read)."""
    facts, vector = read if read is not None else source.read_for_decision(tenant_id, customer_id, now)
    prefs = facts.preferences if facts is not None else Preferences()
    personal = prefs.personalisation is not PersonalisationIntensity.OFF
    if facts is None:
        profile: CustomerProfile | None = CustomerProfile() if personal else None
        time_zone, needs = "UTC", tuple[str, ...]()
    else:
        profile = _profile(facts.profile_json) if facts.profile_json else None
        time_zone, needs = facts.time_zone, facts.accessibility_needs
    features: dict[str, Any] = {
        "time_zone": time_zone,
        # Accessibility needs protect the customer, so they hold even when personalisation is off.
        "accessibility_needs": list(needs),
        **vector.plain(),
    }
    notes, degradations = [], []
    for name in vector.stale:
        value = vector.values[name]
        as_of = value.as_of.isoformat() if value.as_of else "?"
        notes.append(
            f"feature {name} is stale (last event {as_of}, past its TTL); default {value.value!r} used"
        )
        degradations.append(f"context: feature {name} stale; default used")
    return CustomerContext(
        customer_id=customer_id,
        known=facts is not None,
        preferences=prefs,
        profile=profile,
        time_zone=time_zone,
        features=features,
        vector=vector,
        notes=tuple(notes),
        degradations=tuple(degradations),
    )
