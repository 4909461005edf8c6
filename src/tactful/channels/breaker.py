"""Retry timing and circuit breaking for outbound delivery (pure logic, clock injected)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tactful.breaker import CircuitBreaker


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base * factor**(attempt-1)``, capped. A provider outage never fails a
    message: it keeps waiting at the cap until the provider is back (``ProviderUnavailable`` is not
    counted against ``max_rejections``, which only bounds permanent refusals across fallbacks)."""

    base: timedelta = timedelta(seconds=2)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=5)
    lease: timedelta = timedelta(seconds=60)  # how long a claimed row is ours before others retry it

    def delay(self, attempts: int) -> timedelta:
        seconds = self.base.total_seconds() * self.factor ** max(0, attempts - 1)
        return min(self.cap, timedelta(seconds=seconds))


class CircuitBreakers:
    """One breaker (``tactful.breaker.CircuitBreaker``) per (tenant, provider, channel):
    ``threshold`` consecutive failures open it for ``cooldown``; after that a trial send is let
    through (half-open) and its result closes or re-opens it. Process-local on purpose: each worker
    learns a provider's health from its own sends. Delivery never calls through the breaker: it
    reports results and schedules the next try for when the breaker lets one through."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        threshold: int = 3,
        cooldown: timedelta = timedelta(seconds=30),
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self._clock = clock
        self.threshold = threshold
        self.cooldown = cooldown
        self._breakers: dict[tuple[str, str, str], CircuitBreaker] = {}
        self._lock = threading.Lock()

    def _breaker(self, key: tuple[str, str, str]) -> CircuitBreaker:
        with self._lock:
            found = self._breakers.get(key)
            if found is None:
                found = self._breakers[key] = CircuitBreaker(
                    ":".join(key),
                    threshold=self.threshold,
                    cooldown_s=self.cooldown.total_seconds(),
                    clock=lambda: self._clock().timestamp(),
                )
            return found

    def open_until(self, key: tuple[str, str, str]) -> datetime | None:
        """When the breaker lets a trial through, if it is open now; None when sends may go."""
        breaker = self._breakers.get(key)
        until = None if breaker is None else breaker.open_until()
        return None if until is None else datetime.fromtimestamp(until, UTC)

    def success(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._breakers.pop(key, None)  # a healthy provider needs no breaker kept

    def failure(self, key: tuple[str, str, str]) -> bool:
        """Count a failure; True when this failure opened (or re-opened) the breaker."""
        return self._breaker(key).record_failure()
