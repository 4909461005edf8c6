"""Per-key token buckets in Redis, shared by every worker and host (``redis://host:port/db``).

The bucket update is one Lua script, so concurrent workers never lose an update. The time comes
from the Redis server (one clock for everyone) unless a clock is injected (tests). The client is a
minimal RESP2 speaker over a socket, enough for ``EVALSHA``/``SCRIPT LOAD``/``SELECT``: no new
dependency. Redis being unreachable is a ``StoreError`` (503), visibly, never a silent pass.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from tactful.errors import InputRejected, StoreError

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

Reply = bytes | int | list["Reply"] | None


class RespError(Exception):
    pass


class RespClient:
    """One connection, one request at a time (a lock), reconnecting after a failure."""

    def __init__(self, host: str, port: int, db: int, timeout: float = 2.0) -> None:
        self._address = (host, port)
        self._db = db
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    def call(self, *args: str | bytes) -> Reply:
        with self._lock:
            try:
                if self._sock is None:
                    self._connect()
                return self._roundtrip(args)
            except OSError as exc:
                self.close()
                raise StoreError(
                    f"redis at {self._address[0]}:{self._address[1]} failed: {exc}",
                    code="rate_limit_store_unavailable",
                ) from exc

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._buffer = None, b""

    def _connect(self) -> None:
        self._sock = socket.create_connection(self._address, timeout=self._timeout)
        if self._db:
            self._roundtrip(("SELECT", str(self._db)))

    def _roundtrip(self, args: tuple[str | bytes, ...]) -> Reply:
        assert self._sock is not None
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            raw = arg.encode() if isinstance(arg, str) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        self._sock.sendall(b"".join(parts))
        return self._read()

    def _line(self) -> bytes:
        assert self._sock is not None
        while b"\r\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        assert self._sock is not None
        while len(self._buffer) < n + 2:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n + 2 :]
        return data

    def _read(self) -> Reply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"unexpected redis reply {line[:20]!r}")


class RedisLimiter:
    """``RateLimiter`` over Redis: the same token bucket as the in-process one, shared."""

    def __init__(
        self,
        url: str,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] | None = None,
        prefix: str = "tactful:rl:",
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise InputRejected(f"not a redis:// URL: {url!r}", code="invalid_setting")
        db = parts.path.strip("/")
        self._client = RespClient(parts.hostname, parts.port or 6379, int(db) if db.isdigit() else 0)
        self.rate, self.burst = rate, burst
        self._clock = clock
        self._prefix = prefix
        self._sha: bytes | None = None

    def acquire(self, key: str) -> float:
        now = "" if self._clock is None else repr(self._clock())
        args = ("1", self._prefix + key, repr(float(self.rate)), str(self.burst), now)
        if self._sha is None:
            loaded = self._client.call("SCRIPT", "LOAD", _SCRIPT)
            assert isinstance(loaded, bytes)
            self._sha = loaded
        try:
            reply = self._client.call("EVALSHA", self._sha, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise StoreError(
                    f"redis rate limiter failed: {exc}", code="rate_limit_store_unavailable"
                ) from exc
            reply = self._client.call("EVAL", _SCRIPT, *args)  # the server restarted and forgot it
        assert isinstance(reply, bytes)
        return float(reply)

    def close(self) -> None:
        self._client.close()
