"""Redis killed under a stream of decisions (its own server on a free port, never the shared one),
on SQLite and PostgreSQL: decisions go on, read their features from SQL and say so (``degraded``),
the hot store's circuit breaker is open in /readyz and /metrics; Redis back, the breaker closes and
Redis serves again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.domain import Channel, ConversationId, CustomerId, Decision, EventId, InboundMessage, TenantId
from tactful.engine import Engine, EngineParts
from tactful.hot import HotPath
from tactful.store import SqlStore
from tactful.store.redis import RedisHotStore
from tactful.tenants import create_tenant
from tests.api.conftest import Client
from tests.context.conftest import MovableClock
from tests.support.servers import RedisServer

UNAVAILABLE = "features: hot store unavailable"


class BreakerClock:
    """The breaker's monotonic clock, moved by the test (no sleeping through cooldowns)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def next_decision(engine: Engine, tenant_id: str, event_id: str, clock: MovableClock) -> Decision:
    """Customer c1's next message, a minute after the last."""
    clock.now += timedelta(minutes=1)
    return engine.decide(
        InboundMessage(
            event_id=EventId(event_id),
            tenant_id=TenantId(tenant_id),
            customer_id=CustomerId("c1"),
            conversation_id=ConversationId("conv-1"),
            channel=Channel.CHAT,
            text="Where is my parcel? It is late again.",
            sent_at=clock.now,
        )
    )


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer.running() as server:
        yield server


def test_redis_killed_mid_stream_degrades_and_recovers(
    redis_server: RedisServer, sql_store: SqlStore, clock: MovableClock
) -> None:
    tenant_id = create_tenant(sql_store, "acme").tenant.tenant_id
    breaker_clock = BreakerClock()
    hot = HotPath.over(RedisHotStore(redis_server.url, "t:"), sql_store.features, clock=breaker_clock)
    engine = Engine(EngineParts(sql_store, clock=clock, hot=hot))
    client = Client(create_app(engine, Settings()))
    counter = iter(range(1_000))

    def decide() -> Decision:
        return next_decision(engine, tenant_id, f"evt-{next(counter)}", clock)

    try:
        before = [decide() for _ in range(5)]
        assert not any(UNAVAILABLE in r for d in before for r in d.degradations)
        assert hot.features.hits >= 3  # Redis served the reads once the customer had state
        assert client.get("/readyz").json()["checks"]["hot_store"] == "ok"

        redis_server.kill()  # kill -9, mid-stream
        during = [decide() for _ in range(6)]
        assert all(d.degraded for d in during)
        assert all(any(r.startswith(UNAVAILABLE) for r in d.degradations) for d in during)
        assert any("circuit open" in r for d in during for r in d.degradations)  # no waiting on a dead peer
        # Read from SQL, the counts are still right: every earlier message is counted.
        counts = [d.features["values"]["inbound_contacts_24h"]["value"] for d in before + during]
        assert counts == list(range(11))
        ready = client.get("/readyz")
        assert ready.status_code == 200  # degraded, not down
        assert ready.json()["status"] == "degraded" and ready.json()["checks"]["hot_store"] == "circuit_open"
        assert 'tactful_breaker_open{breaker="hot_store"} 1.0' in client.get("/metrics").text

        redis_server.restart()  # back on the same port, empty (no persistence)
        breaker_clock.now += hot.breaker.cooldown_s  # the cooldown is over: the next call is the trial
        after = [decide() for _ in range(3)]
        assert hot.breaker.state == "closed"
        assert not any(d.degraded for d in after)
        assert [d.features["values"]["inbound_contacts_24h"]["value"] for d in after] == [11, 12, 13]
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and ready["checks"]["hot_store"] == "ok"
        assert 'tactful_breaker_open{breaker="hot_store"} 0.0' in client.get("/metrics").text
        hits = hot.features.hits
        decide()
        assert hot.features.hits == hits + 1  # refilled by the write-through: Redis serves again
    finally:
        client.close()
        engine.close()


def test_a_frozen_redis_opens_the_breaker_and_costs_only_bounded_timeouts(
    redis_server: RedisServer, sql_store: SqlStore, clock: MovableClock
) -> None:
    """SIGSTOP, not a refused connection: the client's timeouts end each call, the breaker opens
    after its threshold, and from then on decisions do not touch Redis at all."""
    tenant_id = create_tenant(sql_store, "acme").tenant.tenant_id
    breaker_clock = BreakerClock()
    hot = HotPath.over(RedisHotStore(redis_server.url, "t:"), sql_store.features, clock=breaker_clock)
    engine = Engine(EngineParts(sql_store, clock=clock, hot=hot))
    calls: list[str] = []
    read_state = hot.store.read_state

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("read")
        return read_state(*args, **kwargs)

    hot.store.read_state = counted  # type: ignore[method-assign]

    def decide(i: int) -> Decision:
        return next_decision(engine, tenant_id, f"f-{i}", clock)

    try:
        for i in range(3):
            decide(i)  # warm: the customer gets state in SQL and Redis
        redis_server.freeze()
        try:
            frozen = [decide(10 + i) for i in range(5)]
            assert hot.breaker.state == "open"
            tried = len(calls)
            more = decide(20)
            assert len(calls) == tried  # the open breaker kept this decision away from Redis
            assert all(any(r.startswith(UNAVAILABLE) for r in d.degradations) for d in [*frozen, more])
        finally:
            redis_server.thaw()
        breaker_clock.now += hot.breaker.cooldown_s
        assert not any(UNAVAILABLE in r for r in decide(30).degradations)
        assert hot.breaker.state == "closed"
    finally:
        engine.close()
