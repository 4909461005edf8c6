"""The hot path's shared fast store (``TACTFUL_HOT_STORE_URL``, Redis): feature state and event
claims, behind one circuit breaker — the one object the engine is given for it.

Event claims make API processes agree quickly on a re-sent event id: the process that claims it
decides; another process receiving the same id meanwhile waits for the claim to go (bounded), and
then finds the decision in SQL with its usual read instead of computing a second one that would
lose the insert race. A decision costs two round trips to Redis: the claim goes with its feature
read, and its state writes with the claim's release. Exactly-once stays SQL's job (the unique
event id): with the hot store down, or a claim that outlives its holder, decisions simply race in
SQL as they would without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tactful.breaker import CircuitBreaker, CircuitOpen
from tactful.context.hot import ClaimedElsewhere, DecisionScope, HotFeatures
from tactful.store.hot import HotStore, HotStoreUnavailable, open_hot_store
from tactful.store.sql_features import SqlFeatureStore

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long a claim lives when its holder dies without releasing it (seconds).
CLAIM_TTL_S = 10.0
#: How long a duplicate waits for the holder of its event id before deciding anyway (seconds).
CLAIM_WAIT_S = 2.0


class EventClaims:
    def __init__(
        self,
        hot: HotStore,
        breaker: CircuitBreaker,
        scope: DecisionScope,
        *,
        ttl_s: float = CLAIM_TTL_S,
        wait_s: float = CLAIM_WAIT_S,
    ) -> None:
        self.hot = hot
        self.breaker = breaker
        self.scope = scope
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        #: Duplicates that waited for another holder (a metric).
        self.waited = 0

    def deciding(self, tenant_id: str, event_id: str, decide: Callable[[], T]) -> T:
        """Run ``decide`` holding the event id's claim — taken with the decision's feature read, in
        the same round trip — or, when another process holds it, after it let go."""
        claim = (tenant_id, event_id, f"{self.owner}-{threading.get_ident()}")
        scope = self.scope
        outer = (scope.rows, scope.pending, scope.claimed)
        scope.rows, scope.pending, scope.claimed = [], (claim, self.ttl_s), False
        try:
            try:
                return decide()
            except ClaimedElsewhere:
                self.waited += 1
                scope.pending = None
                self._wait(tenant_id, event_id)
                return decide()  # finds the holder's decision in its SQL read (or races, after the wait)
        finally:
            rows, claimed = scope.rows or [], scope.claimed
            scope.rows, scope.pending, scope.claimed = outer
            if rows or claimed:  # the decision's state writes and the release: one round trip
                with contextlib.suppress(HotStoreUnavailable, CircuitOpen):  # a claim expires by itself
                    self.breaker.call(lambda: self.hot.write_states(rows, release=claim if claimed else None))

    def _wait(self, tenant_id: str, event_id: str) -> None:
        """Until the claim is gone (released, or expired with its holder), at most ``wait_s``."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.002
        while time.monotonic() < deadline:
            time.sleep(delay)  # a bounded back-off poll; the holder may be in another process
            delay = min(delay * 2, 0.05)
            try:
                if not self.breaker.call(lambda: self.hot.claimed(tenant_id, event_id)):
                    return
            except (HotStoreUnavailable, CircuitOpen):
                return


@dataclass
class HotPath:
    store: HotStore
    breaker: CircuitBreaker
    features: HotFeatures
    claims: EventClaims

    @classmethod
    def open(
        cls,
        url: str,
        sql: SqlFeatureStore,
        *,
        prefix: str = "tactful:",
        clock: Callable[[], float] = time.monotonic,
    ) -> HotPath:
        store = open_hot_store(url, prefix)
        return cls.over(store, sql, clock=clock)

    @classmethod
    def over(
        cls, store: HotStore, sql: SqlFeatureStore, *, clock: Callable[[], float] = time.monotonic
    ) -> HotPath:
        breaker = CircuitBreaker("hot_store", failures=(HotStoreUnavailable,), clock=clock)
        scope = DecisionScope()
        return cls(
            store, breaker, HotFeatures(store, sql, breaker, scope), EventClaims(store, breaker, scope)
        )

    def close(self) -> None:
        self.store.close()
