"""Per-key rate limits: a token bucket behind a one-method Protocol.

Each key gets a bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a request takes
one. The in-process limiter is the default and is exact for one process; several worker processes
each hold their own buckets, so the effective limit is ``workers × rate`` until a shared backend
(Redis) is plugged in.

Two faces: ``RateLimiter`` (synchronous, in-process only: the slow key-check limit) and
``RequestLimiter``, what the HTTP service awaits per request. A request limiter never raises for
its own backend's trouble and never blocks the event loop; ``health()`` feeds ``/readyz``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from tactful.errors import InputRejected, TactfulError

#: Defaults: a safety net against a runaway client, well above one worker's measured decision rate
#: (~240/s over HTTP), not a quota. Tune with TACTFUL_RATE_LIMIT_PER_SECOND / _BURST.
DEFAULT_RATE_PER_SECOND = 1000
DEFAULT_BURST = 2000


class RateLimited(TactfulError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many requests for this API key; retry in {retry_after:.2f} s")
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """Retry-After takes whole seconds: round up so a client that obeys it is never early."""
        return str(max(1, math.ceil(self.retry_after)))


class RateLimiter(Protocol):
    def acquire(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when granted, else the seconds until one is available."""
        ...


class TokenBucketLimiter:
    """In-process token buckets; thread-safe. ``clock`` is injectable (monotonic seconds)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def waiting(self, key: str) -> float:
        """The seconds until ``key`` has a token, without taking one (0.0: it has one now)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def acquire(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            self._buckets.move_to_end(key)
            # Bounds memory against many distinct keys: the least recently used key is forgotten
            # and starts again with a full bucket (at 100k keys that one is long idle).
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


class RequestLimiter(Protocol):
    async def acquire(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when granted, else the seconds until one is available."""
        ...

    def health(self) -> str:
        """``ok``, or ``degraded`` while a shared backend is unreachable and local limits apply."""
        ...

    async def aclose(self) -> None: ...


class LocalLimiter:
    """``RequestLimiter`` over in-process buckets (``memory://``): no I/O, always healthy."""

    def __init__(self, buckets: TokenBucketLimiter) -> None:
        self.buckets = buckets

    async def acquire(self, key: str) -> float:
        return self.buckets.acquire(key)

    def health(self) -> str:
        return "ok"

    async def aclose(self) -> None:
        return None


def build_limiter(url: str, rate: float, burst: int) -> RequestLimiter:
    """The limiter a URL names: ``memory://`` (in-process, the default), ``redis://[:password@]host:port/db``
    or ``rediss://`` (TLS)."""
    if url == "memory://":
        return LocalLimiter(TokenBucketLimiter(rate, burst))
    if url.startswith(("redis://", "rediss://")):
        from tactful.governance.redis_limiter import RedisLimiter  # only imported when used

        return RedisLimiter(url, rate, burst)
    shown = url.split("://", 1)[0] + "://…" if "://" in url else url[:20]  # never echo a password
    raise InputRejected(
        f"unsupported TACTFUL_RATE_LIMIT_URL {shown!r}: use memory://, redis://host:port/db or rediss://",
        code="invalid_setting",
    )
