"""How the NATS bus is configured (from its URL) and how an event finds its partition; kept apart
from the client in ``nats.py`` so settings and ordering can be read and tested without a server."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from tactful.errors import InputRejected, TactfulError


class BusUnavailable(TactfulError):
    """NATS did not accept (or could not be reached for) an operation in time; retry later."""

    code = "bus_unavailable"
    status = 503


@dataclass(frozen=True)
class NatsBusConfig:
    """Read from the URL's query: ``nats://user:pass@host:4222?partitions=16&max_attempts=5``."""

    servers: tuple[str, ...]
    prefix: str = "tactful"
    partitions: int = 16
    max_attempts: int = 5
    #: First redelivery delay after a failure; doubles per attempt up to ``backoff_max_s``.
    backoff_s: float = 0.2
    backoff_max_s: float = 10.0
    #: How long a delivered message may stay unacknowledged before JetStream redelivers it (a
    #: worker killed mid-handler loses its message to another worker after this long).
    ack_wait_s: float = 30.0
    duplicate_window_s: float = 120.0
    timeout_s: float = 5.0
    handler_threads: int = 8
    replicas: int = 1
    #: Groups this process consumes; None = every group it subscribes (the library default).
    consume: frozenset[str] | None = field(default=None)

    @classmethod
    def from_url(cls, url: str, *, consume: Collection[str] | None = None) -> NatsBusConfig:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        known = {
            "prefix", "partitions", "max_attempts", "backoff_s", "backoff_max_s", "ack_wait_s",
            "duplicate_window_s", "timeout_s", "handler_threads", "replicas",
        }  # fmt: skip
        unknown = set(query) - known
        if unknown:
            raise InputRejected(
                f"unknown NATS bus option(s) {sorted(unknown)}; known: {sorted(known)}",
                code="unsupported_bus_url",
            )
        # One server or several, comma-separated (``nats://a:4222,nats://b:4222``); credentials and
        # ``tls://`` stay in each URL, where the client reads them.
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        servers = tuple(s if "://" in s else f"{parts.scheme}://{s}" for s in base.split(",") if s)
        try:
            values: dict[str, Any] = {
                name: (int(raw) if name in {"partitions", "max_attempts", "handler_threads", "replicas"}
                       else raw if name == "prefix" else float(raw))
                for name, raw in query.items()
            }  # fmt: skip
        except ValueError as exc:
            raise InputRejected(f"malformed NATS bus option: {exc}", code="unsupported_bus_url") from exc
        config = cls(servers=servers, consume=None if consume is None else frozenset(consume), **values)
        if config.partitions < 1 or config.max_attempts < 1 or not config.prefix.isidentifier():
            raise InputRejected(
                "NATS bus options: partitions and max_attempts must be ≥ 1, prefix a plain word",
                code="unsupported_bus_url",
            )
        return config


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for an ordering key (the same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % partitions
