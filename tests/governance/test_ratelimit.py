"""The per-key token bucket, with an injected clock (no sleeps, no timing asserts).

The bucket tests form a contract run against every backend: in-process always, Redis on
127.0.0.1:6379 for real (skipped with the reason only when it cannot be reached).
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from tactful.errors import InputRejected
from tactful.governance.ratelimit import (
    LocalLimiter,
    RateLimited,
    RateLimiter,
    RequestLimiter,
    TokenBucketLimiter,
    build_limiter,
)
from tactful.governance.redis_limiter import RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


class Ticks:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Blocking:
    """A request limiter driven from synchronous test code, on one event loop for its lifetime."""

    def __init__(self, inner: RequestLimiter, runner: asyncio.Runner) -> None:
        self.inner, self._runner = inner, runner

    def acquire(self, key: str) -> float:
        return self._runner.run(self.inner.acquire(key))


MakeLimiter = Callable[[float, int, Ticks], RateLimiter]


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as run:
        yield run


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[MakeLimiter]:
    if request.param == "memory":
        yield lambda rate, burst, clock: Blocking(
            LocalLimiter(TokenBucketLimiter(rate, burst, clock=clock)), runner
        )
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
        return Blocking(limiter, runner)

    yield make
    for limiter in made:
        assert limiter.health() == "ok" and limiter.fallbacks == 0  # really ran on Redis
        runner.run(limiter.aclose())


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
    assert isinstance(second, Blocking)
    assert shared == isinstance(second.inner, RedisLimiter)


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
    assert isinstance(build_limiter("memory://", 5, 10), LocalLimiter)
    assert isinstance(build_limiter(REDIS_URL, 5, 10), RedisLimiter)
    assert isinstance(build_limiter("rediss://:pw@cache.example:6380/2", 5, 10), RedisLimiter)
    with pytest.raises(InputRejected) as exc:
        build_limiter("memcached://user:hunter2@x", 5, 10)
    assert "hunter2" not in exc.value.message


def test_rediss_urls_speak_tls_with_the_password_from_the_url() -> None:
    limiter = RedisLimiter("rediss://:s3cret@cache.example:6380/2", 5, 10)
    kwargs = limiter._redis.connection_pool.connection_kwargs  # what each connection is built with
    assert limiter._redis.connection_pool.connection_class.__name__ == "SSLConnection"
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "cache.example",
        6380,
        2,
        "s3cret",
    )
    assert "s3cret" not in limiter.where


def test_an_unreachable_redis_degrades_to_local_limits_visibly(
    runner: asyncio.Runner, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limiter = RedisLimiter(f"redis://127.0.0.1:{port}/0", 1, 2, retry_after=3600)
    waits = [runner.run(limiter.acquire("k")) for _ in range(3)]
    # Never an error: the local bucket (burst 2) limits instead, and says so.
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0
    assert limiter.health() == "degraded" and limiter.fallbacks == 3
    assert [r.message for r in caplog.records if "limiting locally" in r.message]
    runner.run(limiter.aclose())
