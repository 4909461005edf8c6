"""Per-key token buckets in Redis, shared by every worker and host (``redis://`` or ``rediss://``).

The bucket update is one Lua script, so concurrent workers never lose an update. The time comes
from the Redis server (one clock for everyone) unless a clock is injected (tests). The client is
redis-py's asyncio one (passwords and TLS come with its URL forms), awaited on the event loop with
a short timeout, so a slow or frozen Redis never blocks the loop.

Redis trouble degrades on purpose and visibly: the request is limited by an in-process bucket
instead (the documented per-process semantics of ``memory://``), a warning is logged when Redis
goes and when it comes back, ``fallbacks`` counts the requests limited locally (exported as a
metric) and ``health()`` says ``degraded`` (``/readyz`` shows it). A circuit breaker
(``tactful.breaker``, opened by one failure) leaves Redis alone for ``retry_after`` seconds after a
failure, then lets one request probe it while the others stay local, so a frozen Redis costs at
most one timeout per ``retry_after``, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tactful.breaker import CircuitBreaker
from tactful.errors import InputRejected
from tactful.governance.ratelimit import TokenBucketLimiter

log = logging.getLogger(__name__)

_SCRIPT = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now
if ARGV[3] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[3])
end
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
-- An idle bucket is full again after burst/rate seconds: then it can simply disappear.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

#: Seconds one Redis round trip (or connect) may take before the request is limited locally.
DEFAULT_TIMEOUT = 0.25
#: Seconds Redis is left alone after a failure before one request probes it again.
DEFAULT_RETRY_AFTER = 1.0


class RedisLimiter:
    """``RequestLimiter`` over Redis: the same token bucket as the in-process one, shared."""

    def __init__(
        self,
        url: str,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] | None = None,
        prefix: str = "tactful:rl:",
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise InputRejected("not a redis:// or rediss:// URL", code="invalid_setting")
        self.where = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}"  # no password
        # No retries inside the client: one failure already sends the request to the local bucket.
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._script = self._redis.register_script(_SCRIPT)
        self._timeout = timeout
        self.rate, self.burst = rate, burst
        self._clock = clock
        self._prefix = prefix
        self._local = TokenBucketLimiter(rate, burst)
        self.breaker = CircuitBreaker("rate_limit", threshold=1, cooldown_s=retry_after)
        self.fallbacks = 0

    def health(self) -> str:
        return "ok" if self.breaker.state == "closed" else "degraded"

    async def acquire(self, key: str) -> float:
        if not self.breaker.enter():  # open: Redis is left alone; half-open: another request probes
            return self._fallback(key)
        was_down = self.breaker.state != "closed"
        try:
            wait = await self._remote(key)
        except (RedisError, OSError, TimeoutError) as exc:
            if not was_down:
                log.warning("rate limiter: redis at %s failed (%s); limiting locally", self.where, exc)
            self.breaker.record_failure()
            return self._fallback(key)
        except BaseException:
            self.breaker.cancel_trial()
            raise
        self.breaker.record_success()
        if was_down:
            log.warning("rate limiter: redis at %s is back; shared limits again", self.where)
        return wait

    async def _remote(self, key: str) -> float:
        now = "" if self._clock is None else repr(self._clock())
        # The client's own timeouts cover each socket operation; this bounds the whole call.
        async with asyncio.timeout(2 * self._timeout):
            reply = await self._script(
                keys=[self._prefix + key], args=[repr(float(self.rate)), str(self.burst), now]
            )
        return float(reply)

    def _fallback(self, key: str) -> float:
        self.fallbacks += 1
        return self._local.acquire(key)

    async def aclose(self) -> None:
        await self._redis.aclose()
