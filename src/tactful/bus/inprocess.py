"""The default bus: in the same process, synchronous, at-least-once with bounded retries.

``publish`` delivers to every subscribed group before it returns, in publish order (so per-key order
holds trivially). A handler that raises is retried up to ``max_attempts`` times; after that the event
goes to :meth:`InProcessBus.dead_letters` and a log line says so — never silently dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from typing import Any

from tactful.bus.base import DeadLetter, Handler, Listener
from tactful.domain import Envelope
from tactful.domain.events import EventType

log = logging.getLogger(__name__)


class InProcessBus:
    def __init__(self, *, max_attempts: int = 3) -> None:
        self._subs: dict[EventType, list[tuple[str, Handler]]] = defaultdict(list)
        self._max_attempts = max_attempts
        self._queue: deque[Envelope] = deque()
        self._draining = False
        self._dead: list[DeadLetter] = []
        self.published: int = 0
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def broadcast(self, topic: str, data: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(topic, ())):
            try:
                listener(data)
            except Exception:  # a notice is best effort; one listener's failure stops no other
                log.exception("listener of %s failed", topic)

    def listen(self, topic: str, listener: Listener) -> None:
        self._listeners[topic].append(listener)

    def subscribe(self, event_type: EventType, handler: Handler, *, group: str) -> None:
        self._subs[event_type].append((group, handler))

    def publish(self, envelope: Envelope) -> None:
        self.published += 1
        self._queue.append(envelope)
        # A handler that publishes re-enters here; queue instead of recursing so order is kept.
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                self._deliver(self._queue.popleft())
        finally:
            self._draining = False

    def _deliver(self, envelope: Envelope) -> None:
        for group, handler in list(self._subs.get(envelope.type, ())):
            for attempt in range(1, self._max_attempts + 1):
                try:
                    handler(envelope)
                    break
                except Exception as exc:  # a handler's failure must not stop delivery to others
                    if attempt == self._max_attempts:
                        log.error(
                            "event %s to group %s failed %d times; dead-lettered: %s",
                            envelope.event_id,
                            group,
                            attempt,
                            exc,
                        )
                        self._dead.append(DeadLetter(group, envelope.event_id, repr(exc), attempt))

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return self._dead[-limit:]

    def dead_letter_count(self) -> int:
        return len(self._dead)

    def close(self) -> None:
        self._subs.clear()
        self._listeners.clear()
