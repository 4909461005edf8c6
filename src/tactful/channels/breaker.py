"""Retry timing and circuit breaking for outbound delivery (pure logic, clock injected)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


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


@dataclass
class _State:
    failures: int = 0
    opened_at: datetime | None = None


class CircuitBreakers:
    """One breaker per (tenant, provider, channel): ``threshold`` consecutive failures open it for
    ``cooldown``; after that one trial send is let through (half-open) and its result closes or
    re-opens it. Process-local on purpose: each worker learns a provider's health from its own sends."""

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
        self._states: dict[tuple[str, str, str], _State] = {}
        self._lock = threading.Lock()

    def open_until(self, key: tuple[str, str, str]) -> datetime | None:
        """When the breaker lets a trial through, if it is open now; None when sends may go."""
        with self._lock:
            state = self._states.get(key)
            if state is None or state.opened_at is None:
                return None
            until = state.opened_at + self.cooldown
            return until if self._clock() < until else None

    def success(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._states.pop(key, None)

    def failure(self, key: tuple[str, str, str]) -> bool:
        """Count a failure; True when this failure opened (or re-opened) the breaker."""
        with self._lock:
            state = self._states.setdefault(key, _State())
            state.failures += 1
            if state.failures >= self.threshold:
                state.opened_at = self._clock()
                return True
            return False
