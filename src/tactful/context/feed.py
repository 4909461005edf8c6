"""How a decision's and an outcome's events reach the features. A decision's events are written in
the decision's own transaction when the feature store is the store's own; a feature store elsewhere
takes them after the commit and from the bus (at least once: ingest dedupes by event id, whichever
comes first wins). Outcomes always come through the bus."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tactful.context.events import decision_event, message_event, outcome_event
from tactful.context.feature_store import FeatureStore
from tactful.context.loader import CustomerContext
from tactful.domain import Decision, Envelope, InboundMessage, Outcome, Signals
from tactful.errors import StoreError

if TYPE_CHECKING:
    from tactful.store.base import Store

#: The decision path logs under one name, the engine's (``TACTFUL_LOG_LEVELS=tactful.engine=...``).
log = logging.getLogger("tactful.engine")


def ingest_after_commit(
    features: FeatureStore,
    message: InboundMessage,
    signals: Signals,
    ctx: CustomerContext,
    decision: Decision,
) -> None:
    """For a feature store outside the decision's database only: the inbound message (no text;
    no signals when personalisation is off) and the decision become events the features fold
    in. The decision is stored already, so a failure here must not fail the request: it is
    logged, and the decision's outbox event re-delivers it."""
    events = [message_event(message, signals, personal=ctx.personal), decision_event(decision)]
    try:
        features.ingest(events, personal=ctx.personal)
    except StoreError:
        log.exception("features: could not record the events of decision %s", decision.decision_id)


def decision_made(store: Store, features: FeatureStore, envelope: Envelope) -> None:
    if features is getattr(store, "features", None):
        # The store's own feature store got the decision's events in the decision's own
        # transaction (store/decision_writes.py): the event could only be a replay of them.
        return
    features.ingest([decision_event(Decision.model_validate(envelope.payload))])


def outcome_recorded(store: Store, features: FeatureStore, envelope: Envelope) -> None:
    outcome = Outcome.model_validate(envelope.payload)
    decision = store.get_decision(outcome.tenant_id, outcome.decision_id)
    if decision is not None:  # the store only accepts outcomes of existing decisions
        features.ingest([outcome_event(outcome, decision)])
