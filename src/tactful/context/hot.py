"""Feature state served from the hot store (Redis), with the SQL store as the source of truth.

The decision's one SQL read still returns the customer's facts and *which* state is current (the
state row's version and write counter ``seq``, no JSON); the state itself comes from the hot store
in one round trip. A hot copy is used only when its ``seq`` is the SQL row's, so a hot store that
missed writes (an outage, a restart from an old snapshot, an outcome folded by another process)
never serves an old state: a stale or missing copy is read from SQL instead and written back.

When the hot store fails or its circuit breaker is open, the state is read from SQL and the
decision says so (``degraded``, with the reason): the API never fails because Redis did. After a
decision commits, the states it wrote go to the hot store (write-through); a failure there only
costs the next read a trip to SQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tactful.breaker import CircuitBreaker, CircuitOpen
from tactful.context.feature_store import CustomerFacts, FeatureVector, RebuildReport
from tactful.store.hot import Claim, HotState, HotStore, HotStoreUnavailable, StateRow
from tactful.store.sql_features import SqlFeatureStore

log = logging.getLogger(__name__)

#: What a hot read gives the engine: (facts, features) as ``load_context`` takes them, and the
#: state texts read, in ``decision_query``'s row shape, for the decision's pre-folded write.
HotRead = tuple[tuple[CustomerFacts | None, FeatureVector], tuple[Any, ...] | None]

_UNAVAILABLE = (HotStoreUnavailable, CircuitOpen)


class ClaimedElsewhere(Exception):
    """Another process holds the event id's claim: it is deciding this event now (tactful/hot.py)."""


class DecisionScope(threading.local):
    """One decision's dealings with the hot store, per thread (tactful/hot.py ``EventClaims``), so
    that a decision costs two round trips: its event claim rides with its feature read, and its
    state writes with the claim's release."""

    #: While a list, state writes are collected here instead of sent.
    rows: list[StateRow] | None = None
    #: The claim to take with the decision's feature read, and its time to live.
    pending: tuple[Claim, float] | None = None
    #: Whether the decision holds its claim (to release afterwards).
    claimed: bool = False


class HotFeatures:
    def __init__(
        self,
        hot: HotStore,
        sql: SqlFeatureStore,
        breaker: CircuitBreaker | None = None,
        scope: DecisionScope | None = None,
    ) -> None:
        self.hot = hot
        self.sql = sql
        self.scope = scope or DecisionScope()
        self.breaker = breaker or CircuitBreaker("hot_store", failures=(HotStoreUnavailable,))
        #: Reads served by the hot store, and those that went to SQL (stale or missing copy; or the
        #: hot store unavailable): metrics.
        self.hits = 0
        self.misses = 0
        self.fallbacks = 0

    def read(
        self, tenant_id: str, customer_id: str, now: datetime, row: Sequence[Any], degraded: list[str]
    ) -> HotRead:
        """One decision's facts and features; ``row``: its SQL read (``decision_query`` with
        ``state=False``). Appends to ``degraded`` when the hot store could not be used."""
        facts, personal = self.sql.facts_of(row)
        version, seq, active = row[4], row[5], int(row[8])  # seq in the consent state's place
        pending, self.scope.pending = self.scope.pending, None
        if version is None:  # no event yet for this customer: every feature takes its default
            if pending is not None:
                self._claim(pending)
            return (facts, self.sql.vector_of(tenant_id, active, None, None, personal, now, None)), None
        try:
            if pending is None:
                state = self.breaker.call(
                    lambda: self.hot.read_state(tenant_id, customer_id, int(version), personal=personal)
                )
            else:
                (claim, ttl_s) = pending
                mine, state = self.breaker.call(
                    lambda: self.hot.claim_and_read(
                        claim, ttl_s, tenant_id, customer_id, int(version), personal=personal
                    )
                )
                if not mine:
                    raise ClaimedElsewhere(claim[1])
                self.scope.claimed = True
        except _UNAVAILABLE as exc:
            self.fallbacks += 1
            degraded.append(f"features: hot store unavailable ({_why(exc)}); read from SQL")
            return self._from_sql(tenant_id, customer_id, now, facts, personal, refill=False)
        if state is None or state.seq != int(seq) or (personal and state.personal is None):
            self.misses += 1  # a copy that missed a write (or none): SQL has the current state
            return self._from_sql(tenant_id, customer_id, now, facts, personal, refill=True)
        self.hits += 1
        vector = self.sql.vector_of(
            tenant_id, state.version, state.consent, state.personal, personal, now, state.computed_at
        )
        return (facts, vector), _seen(state)

    def _claim(self, pending: tuple[Claim, float]) -> None:
        (claim, ttl_s) = pending
        try:
            mine = self.breaker.call(lambda: self.hot.claim_event(*claim, ttl_s))
        except _UNAVAILABLE:
            return  # SQL alone decides who wins
        if not mine:
            raise ClaimedElsewhere(claim[1])
        self.scope.claimed = True

    def _from_sql(
        self,
        tenant_id: str,
        customer_id: str,
        now: datetime,
        facts: CustomerFacts | None,
        personal: bool,
        *,
        refill: bool,
    ) -> HotRead:
        found = self.sql.state_texts(tenant_id, customer_id, personal=personal)
        if found is None:  # erased or re-activated between the two reads: defaults
            version = self.sql.definitions(tenant_id).version
            return (facts, self.sql.vector_of(tenant_id, version, None, None, personal, now, None)), None
        # Without the personal state (not read: personalisation off) the copy would lose it.
        if refill and personal:
            self.write([found])
        state = HotState(
            found["version"],
            found["consent_state"],
            found["personal_state"],
            found["computed_at"],
            found["seq"],
        )
        vector = self.sql.vector_of(
            tenant_id, state.version, state.consent, state.personal, personal, now, state.computed_at
        )
        return (facts, vector), _seen(state)

    def write(self, rows: Sequence[StateRow]) -> None:
        """Best effort: a state the hot store did not get is read from SQL until the next write."""
        if not rows:
            return
        if self.scope.rows is not None:
            self.scope.rows.extend(rows)
            return
        try:
            self.breaker.call(lambda: self.hot.write_states(rows))
        except _UNAVAILABLE as exc:
            log.debug("hot store: %d state(s) not written (%s)", len(rows), _why(exc))

    def rebuild(self, tenant_id: str | None = None, **options: Any) -> RebuildReport:
        """``SqlFeatureStore.rebuild`` that also refills the hot store batch by batch. Unlike the
        decision path this fails loudly when the hot store is down: a refill is what was asked."""
        return self.sql.rebuild(tenant_id, on_batch=self.hot.write_states, **options)

    def erase_customer(self, tenant_id: str, customer_id: str) -> None:
        """Erasure reaches the hot copy too (raises when the hot store is down: erasure must not
        silently leave a copy behind)."""
        self.hot.delete_customer(tenant_id, customer_id)

    def state(self) -> str:
        """For ``/readyz``: ``ok`` or the breaker's state."""
        state = self.breaker.state
        return "ok" if state == "closed" else f"circuit_{state}"


def _seen(state: HotState) -> tuple[Any, ...]:
    """The state texts in ``decision_query``'s row positions (version 4, consent 5, personal 7)."""
    return (
        None,
        None,
        None,
        None,
        state.version,
        state.consent,
        state.computed_at,
        state.personal,
        state.version,
    )


def _why(exc: Exception) -> str:
    return "circuit open" if isinstance(exc, CircuitOpen) else type(exc.__cause__ or exc).__name__
