"""Event buses, chosen by URL: ``memory://`` (in-process, the default); ``nats://`` comes next."""

from __future__ import annotations

from tactful.bus.base import Bus, Deduplicator, Handler
from tactful.bus.inprocess import InProcessBus
from tactful.errors import InputRejected

__all__ = ["Bus", "Deduplicator", "Handler", "InProcessBus", "open_bus"]


def open_bus(url: str) -> Bus:
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        return InProcessBus()
    raise InputRejected(
        f"unsupported bus URL scheme {scheme!r}; supported: memory://", code="unsupported_bus_url"
    )
