"""The signals stage of a decision: the tier's signals, the tenant's own intent model over them,
and the guard's findings (personal data, injection) folded in."""

from __future__ import annotations

import logging

from tactful.domain import Channel, Signals, TenantId
from tactful.guard import GuardedText
from tactful.signals.selection import TierSelector
from tactful.signals.tenant_intents import UNREAD, tenant_intent_model, with_tenant_intent

#: The decision path logs under one name, the engine's (``TACTFUL_LOG_LEVELS=tactful.engine=...``).
log = logging.getLogger("tactful.engine")


def read_signals(
    tiers: TierSelector,
    store: object,
    tenant_id: TenantId,
    guarded: GuardedText,
    channel: Channel,
    degraded: list[str],
    intent_version: int | None = UNREAD,
) -> Signals:
    """The message's signals; every fallback (a failing tier, the tenant's intent model) is noted
    in ``degraded``, which makes the decision visibly degraded."""
    # The selector never raises for a failing tier: it falls back to a poorer tier (or neutral
    # signals) and returns why.
    outcome = tiers.signals(guarded.model_text, channel)
    degraded.extend(outcome.degradations)
    found = outcome.signals
    try:
        # A tenant that trained its own intents (POST /v1/intents/examples) gets them instead of
        # the shipped support intents; one small read, the decoded model is cached per version.
        model = tenant_intent_model(store, tenant_id, intent_version)
        found = with_tenant_intent(found, model, guarded.model_text)
    except Exception as exc:  # the shipped intent stands; the decision says so
        log.exception("tenant intent model of %s failed", tenant_id)
        degraded.append(f"signals: tenant intent model failed ({type(exc).__name__}); shipped intent used")
    return found.model_copy(update={"pii": guarded.pii, "injection": max(found.injection, guarded.injection)})
