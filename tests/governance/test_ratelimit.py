"""The per-key token bucket, with an injected clock (no sleeps, no timing asserts).

The bucket tests form a contract run against every backend: in-process always, Redis on
127.0.0.1:6379 for real (skipped with the reason only when it cannot be reached).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from tactful.errors import InputRejected, StoreError
from tactful.governance.ratelimit import RateLimited, RateLimiter, TokenBucketLimiter, build_limiter
from tactful.governance.redis_limiter import RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


class Ticks:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


MakeLimiter = Callable[[float, int, Ticks], RateLimiter]


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest) -> Iterator[MakeLimiter]:
    if request.param == "memory":
        yield lambda rate, burst, clock: TokenBucketLimiter(rate, burst, clock=clock)
        return
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 is unreachable: {exc}")
    made: list[RedisLimiter] = []
    prefix = f"tactful:test:{uuid.uuid4().hex}:"  # each test its own keys

    def make(rate: float, burst: int, clock: Ticks) -> RateLimiter:
        limiter = RedisLimiter(REDIS_URL, rate, burst, clock=clock, prefix=prefix)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()


def test_a_full_bucket_allows_a_burst_then_refills_at_the_rate(make_limiter: MakeLimiter) -> None:
    ticks = Ticks()
    limiter = make_limiter(2, 3, ticks)
    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("k") == pytest.approx(0.5)  # one token takes 1/rate seconds
    ticks.now += 0.25
    assert limiter.acquire("k") == pytest.approx(0.25)
    ticks.now += 0.25
    assert limiter.acquire("k") == 0.0
    ticks.now += 60  # refills to the burst, never beyond it
    assert [limiter.acquire("k") for _ in range(4)][-1] == pytest.approx(0.5)


def test_buckets_are_per_key(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(1, 1, Ticks())
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_two_limiters_on_one_backend_share_or_not_as_documented(make_limiter: MakeLimiter) -> None:
    ticks = Ticks()
    first, second = make_limiter(1, 1, ticks), make_limiter(1, 1, ticks)
    assert first.acquire("k") == 0.0
    shared = second.acquire("k") > 0  # Redis: one bucket for every worker; in-process: one each
    assert shared == isinstance(second, RedisLimiter)


def test_memory_is_bounded_by_forgetting_the_least_recently_used_key() -> None:
    limiter = TokenBucketLimiter(rate=1, burst=1, clock=Ticks(), max_keys=2)
    for key in ("a", "b", "c"):
        limiter.acquire(key)
    assert limiter.acquire("c") > 0  # still remembered
    assert limiter.acquire("a") == 0.0  # forgotten: a fresh bucket


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (30.0, "30")])
def test_retry_after_rounds_up_to_whole_seconds(wait: float, header: str) -> None:
    assert RateLimited(wait).retry_after_header == header


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-1, 5)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate=rate, burst=burst)
    with pytest.raises(ValueError):
        RedisLimiter(REDIS_URL, rate, burst)


def test_the_url_picks_the_backend() -> None:
    assert isinstance(build_limiter("memory://", 5, 10), TokenBucketLimiter)
    assert isinstance(build_limiter(REDIS_URL, 5, 10), RedisLimiter)
    with pytest.raises(InputRejected):
        build_limiter("memcached://x", 5, 10)


def test_an_unreachable_redis_is_a_visible_store_error_not_a_pass() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limiter = RedisLimiter(f"redis://127.0.0.1:{port}/0", 1, 1)
    with pytest.raises(StoreError) as exc:
        limiter.acquire("k")
    assert exc.value.code == "rate_limit_store_unavailable"
