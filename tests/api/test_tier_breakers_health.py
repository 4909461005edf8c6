"""The rich signal tiers' circuit breakers in ``/readyz`` and ``/metrics`` (issue 13): an open
breaker makes the service ``degraded`` (still ready: the net answers) and shows as
``tactful_breaker_open{breaker="tier_<name>"} 1``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.signals.selection import BREAKER_FAILURES, TierSelector
from tactful.store.base import Store
from tests.api.conftest import Client
from tests.engine.tier_doubles import StubTier


@pytest.fixture
def tiered(store: Store) -> Iterator[tuple[Client, TierSelector]]:
    selector = TierSelector([StubTier("fast"), StubTier("transformer")], expected_ms={"transformer": 30.0})
    engine = Engine(EngineParts(store, tier=selector))
    client = Client(create_app(engine, Settings(max_body_bytes=64 * 1024)))
    yield client, selector
    client.close()
    selector.close(wait=True)


def test_an_open_tier_breaker_is_degraded_in_readyz_and_counted_in_metrics(
    tiered: tuple[Client, TierSelector],
) -> None:
    client, selector = tiered
    assert client.get("/readyz").json()["checks"]["tier_transformer"] == "ok"
    breaker = selector.breakers["transformer"]
    for _ in range(BREAKER_FAILURES):
        breaker.record_failure()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["tier_transformer"] == "circuit_open"
    assert 'tactful_breaker_open{breaker="tier_transformer"} 1.0' in client.get("/metrics").text
