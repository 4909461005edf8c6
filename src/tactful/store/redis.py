"""``HotStore`` on Redis (redis-py), for ``redis://`` and ``rediss://`` (TLS) URLs with passwords.

Layout, under the configured prefix (default ``tactful:``):

- ``f:{tenant}:{customer}`` — a hash per customer; per definition version ``v{n}:c`` (consent
  state JSON), ``v{n}:p`` (personal state JSON; absent when not computed), ``v{n}:at``
  (computed_at, ISO) and ``v{n}:s`` (the SQL row's write counter ``seq``). A write only lands when
  its ``seq`` is higher, in one Lua script, so two processes writing a customer's state after
  their commits cannot leave the older one behind.
- ``e:{tenant}:{event_id}`` — an event claim (``SET NX PX``), owned by one process.

The client is the synchronous one: the decision path runs in worker threads and makes one round
trip per read. Timeouts are short and there are no client retries: a failure surfaces at once as
``HotStoreUnavailable`` and the caller's circuit breaker decides what happens next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from tactful.errors import InputRejected
from tactful.store.hot import Claim, HotState, HotStoreUnavailable, StateRow

T = TypeVar("T")

#: Seconds one round trip (or connect) may take before the hot store counts as failed.
DEFAULT_TIMEOUT = 0.25

_WRITE = """
local written = 0
for i = 1, #ARGV, 5 do
  local v = ARGV[i]
  local old = tonumber(redis.call('HGET', KEYS[1], v .. ':s'))
  if not old or old < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], v .. ':s', ARGV[i + 1], v .. ':c', ARGV[i + 2], v .. ':at', ARGV[i + 4])
    if ARGV[i + 3] == '' then
      redis.call('HDEL', KEYS[1], v .. ':p')
    else
      redis.call('HSET', KEYS[1], v .. ':p', ARGV[i + 3])
    end
    written = written + 1
  end
end
return written
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisHotStore:
    def __init__(self, url: str, prefix: str = "tactful:", *, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise InputRejected("the hot store needs a redis:// or rediss:// URL", code="invalid_setting")
        self.where = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"  # no password
        self._prefix = prefix
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._write = self._redis.register_script(_WRITE)
        self._release = self._redis.register_script(_RELEASE)

    def _key(self, tenant_id: str, customer_id: str) -> str:
        return f"{self._prefix}f:{tenant_id}:{customer_id}"

    def _claim_key(self, tenant_id: str, event_id: str) -> str:
        return f"{self._prefix}e:{tenant_id}:{event_id}"

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (RedisError, OSError) as exc:
            raise HotStoreUnavailable(f"hot store {self.where}: {type(exc).__name__}: {exc}") from exc

    # -- feature state -----------------------------------------------------------------------------

    def read_state(
        self, tenant_id: str, customer_id: str, version: int, *, personal: bool
    ) -> HotState | None:
        fields = _fields(version, personal)
        got: list[Any] = self._call(lambda: self._redis.hmget(self._key(tenant_id, customer_id), fields))
        return _state(version, personal, got)

    def claim_and_read(
        self, claim: Claim, ttl_s: float, tenant_id: str, customer_id: str, version: int, *, personal: bool
    ) -> tuple[bool, HotState | None]:
        def run() -> list[Any]:
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(self._claim_key(claim[0], claim[1]), claim[2], nx=True, px=max(1, int(ttl_s * 1000)))
            pipe.hmget(self._key(tenant_id, customer_id), _fields(version, personal))
            return list(pipe.execute())

        claimed, got = self._call(run)
        return bool(claimed), _state(version, personal, got)

    def write_states(self, rows: Iterable[StateRow], *, release: Claim | None = None) -> int:
        by_customer: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            computed_at: datetime = row["computed_at"]
            by_customer.setdefault((row["tenant_id"], row["customer_id"]), []).extend(
                (
                    f"v{row['version']}",
                    str(int(row["seq"])),
                    row["consent_state"],
                    row["personal_state"] or "",
                    computed_at.isoformat(),
                )
            )
        if not by_customer and release is None:
            return 0

        def run() -> int:
            pipe = self._redis.pipeline(transaction=False)
            for (tenant_id, customer_id), args in by_customer.items():
                self._write(keys=[self._key(tenant_id, customer_id)], args=args, client=pipe)
            if release is not None:
                tenant_id, event_id, owner = release
                self._release(keys=[self._claim_key(tenant_id, event_id)], args=[owner], client=pipe)
            replies = pipe.execute()
            return sum(int(n) for n in replies[: len(by_customer)])

        return self._call(run)

    def delete_customer(self, tenant_id: str, customer_id: str) -> None:
        self._call(lambda: self._redis.delete(self._key(tenant_id, customer_id)))

    # -- event claims ------------------------------------------------------------------------------

    def claim_event(self, tenant_id: str, event_id: str, owner: str, ttl_s: float) -> bool:
        key = self._claim_key(tenant_id, event_id)
        return bool(self._call(lambda: self._redis.set(key, owner, nx=True, px=max(1, int(ttl_s * 1000)))))

    def release_event(self, tenant_id: str, event_id: str, owner: str) -> None:
        key = self._claim_key(tenant_id, event_id)
        self._call(lambda: self._release(keys=[key], args=[owner]))

    def claimed(self, tenant_id: str, event_id: str) -> bool:
        key = self._claim_key(tenant_id, event_id)
        return bool(self._call(lambda: self._redis.exists(key)))

    # -- operations --------------------------------------------------------------------------------

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except (RedisError, OSError):
            return False

    def close(self) -> None:
        self._redis.close()


def _fields(version: int, personal: bool) -> list[str]:
    v = f"v{version}"
    return [f"{v}:c", f"{v}:at", f"{v}:s"] + ([f"{v}:p"] if personal else [])


def _state(version: int, personal: bool, got: list[Any]) -> HotState | None:
    if got[0] is None:
        return None
    return HotState(
        version=version,
        consent=got[0].decode(),
        personal=got[3].decode() if personal and got[3] is not None else None,
        computed_at=datetime.fromisoformat(got[1].decode()),
        seq=int(got[2]),
    )


def open_hot_store(url: str, prefix: str = "tactful:") -> RedisHotStore:
    return RedisHotStore(url, prefix)
