"""What joins a decision's own transaction besides its row, audit entry and outbox event: the
"side writes" of the other stages (its facts row, vault values, feature events and state, learning
log), so a crash never leaves a decision without them; and what follows the commit.

Each module keeps its SQL and hands over a write; a part that keeps its rows elsewhere (a feature
store or vault passed in over another backend) cannot join, and is written after the commit
instead (``context/feed.py``, ``guard/stage.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tactful.context import CustomerContext, FeatureStore, decision_event, message_event
from tactful.domain import Decision, InboundMessage, Signals
from tactful.guard.vault import SealedValue
from tactful.learn import Learner
from tactful.learn.base import Choice
from tactful.store.database import SideWrite
from tactful.store.sql import SqlStore
from tactful.store.sql_feature_writes import DecisionFeatureWrite

#: The decision path logs under one name, the engine's (``TACTFUL_LOG_LEVELS=tactful.engine=...``).
log = logging.getLogger("tactful.engine")


@dataclass
class SideWrites:
    """What joins the decision's transaction, and which parts did (the rest is written after)."""

    in_transaction: list[SideWrite] = field(default_factory=list)
    features: bool = False
    feature_write: DecisionFeatureWrite | None = None  # the states it wrote go to the hot store
    learning: bool = False


def side_writes(
    store: SqlStore,
    features: FeatureStore,
    learner: Learner,
    message: InboundMessage,
    signals: Signals,
    ctx: CustomerContext,
    decision: Decision,
    choice: Choice,
    sealed: list[SealedValue],
    context_row: tuple[Any, ...] | None,
) -> SideWrites:
    """The rows the other stages add to the decision's transaction. ``sealed``: vault values
    to write (only when the vault's rows are this store's); ``context_row``: the feature state the
    decision's context holds, folded ahead of the write."""
    writes = SideWrites(in_transaction=[partial(store.facts.record_in, decision=decision)])
    if sealed:
        writes.in_transaction.append(
            store.vault.put_values_write(message.tenant_id, message.customer_id, sealed)
        )
    if features is store.features:
        events = [message_event(message, signals, personal=ctx.personal), decision_event(decision)]
        writes.feature_write = store.features.decision_write(
            events, personal=ctx.personal, context_row=context_row
        )
        writes.in_transaction.append(writes.feature_write)
        writes.features = True
    learning = learner.log_write(decision, choice)
    if learning is not None:
        writes.in_transaction.append(learning)
        writes.learning = True
    return writes


def learner_logged(learner: Learner, decision: Decision, choice: Choice, *, written: bool) -> None:
    """After the commit: the decision is stored and answered whatever happens here; a failure only
    means the learner will not learn from it (or, when its log row committed with the decision,
    only that reward windows close on the next call), which is logged."""
    try:
        learner.logged(decision, choice, written=written)
    except Exception:
        log.exception("learner: logging decision %s failed; not learned from", decision.decision_id)
