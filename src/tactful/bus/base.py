"""The event-bus interface and its delivery semantics.

Delivery is **at least once**: a handler may see the same event more than once (a retry after a
failure, a redelivery after a crash, a producer re-sending). Handlers must therefore be idempotent
by ``Envelope.event_id``; :class:`Deduplicator` gives them that. Events of one conversation share an
ordering ``key`` (the conversation id) and are delivered in publish order for that key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from tactful.domain import Envelope
from tactful.domain.events import EventType

Handler = Callable[[Envelope], None]
#: A broadcast's handler: the small JSON object the sender gave (see :class:`Broadcasts`).
Listener = Callable[[dict[str, Any]], None]


class Bus(Protocol):
    def publish(self, envelope: Envelope) -> None:
        """Hand the event to the bus. Returns once the bus has accepted it (durably, for durable buses)."""
        ...

    def subscribe(self, event_type: EventType, handler: Handler, *, group: str) -> None:
        """Deliver every event of ``event_type`` to ``handler``; one delivery per ``group``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PublishesEncoded(Protocol):
    """Buses that can send an event as JSON already encoded (the outbox relay has the text the
    decision stored): the bytes go out as they are, with no second serialisation."""

    def publish_encoded(self, envelope: Envelope, data: bytes) -> None:
        """``publish(envelope)``, where ``data`` is ``envelope``'s JSON form."""
        ...


@dataclass(frozen=True)
class DeadLetter:
    """An event a group's handler failed on ``attempts`` times, set aside instead of blocking."""

    group: str
    event_id: str
    error: str
    attempts: int
    subject: str = ""


@runtime_checkable
class DeadLetters(Protocol):
    """Buses that keep the events their handlers gave up on (the CLI and ``/metrics`` read them)."""

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def dead_letter_count(self) -> int: ...


@runtime_checkable
class Broadcasts(Protocol):
    """Fire-and-forget notices to **every** process (not one per group), at most once: cache
    invalidations. Nothing is stored; a process that is down or disconnected misses the notice, so
    a receiver's cache must keep its own safety net (a version check)."""

    def broadcast(self, topic: str, data: dict[str, Any]) -> None: ...

    def listen(self, topic: str, listener: Listener) -> None: ...


class Deduplicator:
    """Remembers the last ``capacity`` event ids a handler has processed, and skips repeats.

    In-process buses use it directly; durable buses pair it with a store-backed record of processed
    ids (the decision table's unique ``(tenant_id, event_id)`` is one such record).
    """

    def __init__(self, handler: Handler, capacity: int = 100_000) -> None:
        self._handler = handler
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __call__(self, envelope: Envelope) -> None:
        if envelope.event_id in self._seen:
            self._seen.move_to_end(envelope.event_id)
            return
        self._handler(envelope)
        # Only mark as seen after success: a failed handler must be retried.
        self._seen[envelope.event_id] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
