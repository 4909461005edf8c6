"""Event buses, chosen by URL: ``memory://`` (in-process, the default) and ``nats://`` / ``tls://``
(NATS JetStream, :mod:`tactful.bus.nats`, imported only when asked for)."""

from __future__ import annotations

from collections.abc import Collection

from tactful.bus.base import Broadcasts, Bus, DeadLetter, DeadLetters, Deduplicator, Handler, Listener
from tactful.bus.inprocess import InProcessBus
from tactful.errors import InputRejected

__all__ = [
    "Broadcasts", "Bus", "DeadLetter", "DeadLetters", "Deduplicator", "Handler", "InProcessBus", "Listener",
    "open_bus",
]  # fmt: skip


def open_bus(url: str, *, consume: Collection[str] | None = None) -> Bus:
    """The bus named by ``url``. ``consume`` names the consumer groups this process works for (a
    worker's roles); None consumes every group subscribed, as one embedded process does."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        return InProcessBus()
    if scheme in ("nats", "tls"):
        from tactful.bus.nats import open_nats_bus

        return open_nats_bus(url, consume=consume)
    raise InputRejected(
        f"unsupported bus URL scheme {scheme!r}; supported: memory://, nats://host:4222, tls://host:4222",
        code="unsupported_bus_url",
    )
