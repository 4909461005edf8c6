"""Helpers for the hot-store tests: the shared Redis under a unique key prefix, and an engine over
a store with or without the hot store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from tactful.engine import Engine
from tactful.hot import HotPath
from tactful.store import SqlStore
from tactful.store.redis import RedisHotStore

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def shared_redis_or_skip() -> str:
    try:
        redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis at {SHARED_REDIS} is unreachable: {exc}")
    return SHARED_REDIS


@contextmanager
def prefixed(url: str) -> Iterator[str]:
    """A key prefix nobody else uses; its keys are deleted afterwards."""
    prefix = f"tactful-test-{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


def hot_path(url: str, prefix: str, store: SqlStore, clock: Any = None) -> HotPath:
    hot = RedisHotStore(url, prefix)
    return (
        HotPath.over(hot, store.features) if clock is None else HotPath.over(hot, store.features, clock=clock)
    )


def hot_keys(url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return sorted(client.scan_iter(match=f"{prefix}*", count=500))
    finally:
        client.close()


def sql_and_hot_agree(engine: Engine, store: SqlStore, tenant_id: str, customers: list[str]) -> int:
    """Every customer's active state in Redis equals SQL's (texts and computed_at); returns how
    many customers had state."""
    assert engine.hot is not None
    compared = 0
    for customer in customers:
        expected = store.features.state_texts(tenant_id, customer, personal=True)
        if expected is None:
            continue
        got = engine.hot.store.read_state(tenant_id, customer, expected["version"], personal=True)
        assert got is not None, customer
        assert (got.consent, got.personal, got.computed_at, got.seq) == (
            expected["consent_state"],
            expected["personal_state"],
            expected["computed_at"],
            expected["seq"],
        )
        compared += 1
    return compared
