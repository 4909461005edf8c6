"""Loads what a decision may know about the customer — and no more than consent allows.

Consent and preferences are always read: honouring an opt-out is not personalisation. The profile
and profile-derived features are read only when the customer's personalisation intensity is not
``off`` (data minimisation: not read at all, rather than read and ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tactful.domain import (
    Customer,
    CustomerId,
    CustomerProfile,
    PersonalisationIntensity,
    Preferences,
    TenantId,
)
from tactful.store.base import Store

FATIGUE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class CustomerContext:
    customer_id: CustomerId
    known: bool  # False: a customer we have never stored; defaults apply
    preferences: Preferences
    profile: CustomerProfile | None  # None when personalisation is off: never read
    time_zone: str  # needed for quiet hours even when personalisation is off
    features: dict[str, Any] = field(default_factory=dict)


def load_context(
    store: Store, tenant_id: TenantId, customer_id: CustomerId, now: datetime
) -> CustomerContext:
    stored = store.get_customer(tenant_id, customer_id)
    customer = stored or Customer(tenant_id=tenant_id, customer_id=customer_id)
    prefs = customer.preferences
    # Consent-level facts, read for every decision: the fatigue cap and quiet hours protect the
    # customer whatever their personalisation setting.
    features: dict[str, Any] = {
        "proactive_contacts_24h": store.count_proactive_since(tenant_id, customer_id, now - FATIGUE_WINDOW),
        "time_zone": customer.profile.time_zone,
        # Accessibility needs protect the customer (no voice for a deaf customer), so they hold
        # even when personalisation is off, like the time zone for quiet hours.
        "accessibility_needs": list(customer.profile.accessibility_needs),
    }
    profile = None if prefs.personalisation is PersonalisationIntensity.OFF else customer.profile
    return CustomerContext(
        customer_id=customer_id,
        known=stored is not None,
        preferences=prefs,
        profile=profile,
        time_zone=customer.profile.time_zone,
        features=features,
    )
