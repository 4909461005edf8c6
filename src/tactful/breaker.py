"""A circuit breaker for one remote part (the NATS server, a Redis server, a model tier).

``closed`` → calls go through; ``threshold`` consecutive failures open it. ``open`` → calls fail at
once with :class:`CircuitOpen` (no waiting for a dead peer's timeout) for ``cooldown_s``. Then
``half_open``: one trial call goes through; its success closes the breaker, its failure re-opens it.
The state is shown in ``/readyz`` and as ``tactful_breaker_open{breaker=…}`` in ``/metrics``.
Process-local on purpose: each process learns a peer's health from its own calls. The clock is
injected so tests need no sleeps. Callers that cannot wrap the remote call in ``call`` (outbound
delivery schedules its retries instead of failing fast: channels/breaker.py keeps one breaker per
provider) report results with ``record_failure``/``record_success`` and ask ``open_until``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

from tactful.errors import TactfulError

T = TypeVar("T")
State = Literal["closed", "open", "half_open"]


class CircuitOpen(TactfulError):
    """The breaker is open: the remote part failed repeatedly and is not called for a while."""

    code = "circuit_open"
    status = 503


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        threshold: int = 3,
        cooldown_s: float = 5.0,
        failures: tuple[type[BaseException], ...] = (Exception,),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._failures_types = failures
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        #: Times the breaker opened (a metric).
        self.opened = 0

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        return "open" if self._clock() - self._opened_at < self.cooldown_s else "half_open"

    def call(self, fn: Callable[[], T]) -> T:
        if not self.enter():
            raise CircuitOpen(f"{self.name}: circuit open after {self._failures} failures")
        try:
            result = fn()
        except self._failures_types:
            self.record_failure()
            raise
        except BaseException:
            self.cancel_trial()
            raise
        self.record_success()
        return result

    def enter(self) -> bool:
        """Whether a call may go now: closed, or the one trial call of half-open (which this
        claims). For callers that cannot wrap the call in ``call`` (an awaited one): they report
        its result with ``record_failure``/``record_success``, or ``cancel_trial``."""
        with self._lock:
            state = self._state()
            if state == "open" or (state == "half_open" and self._trial):
                return False
            self._trial = state == "half_open"
            return True

    def cancel_trial(self) -> None:
        """The call ended neither in success nor in a counted failure (cancelled, a caller's bug)."""
        with self._lock:
            self._trial = False

    def record_failure(self) -> bool:
        """Count a failure; True when the breaker is open after it (opened or re-opened now)."""
        with self._lock:
            self._trial = False
            self._failures += 1
            if self._opened_at is not None or self._failures >= self.threshold:
                if self._opened_at is None or self._state() == "half_open":
                    self.opened += 1
                self._opened_at = self._clock()
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def open_until(self) -> float | None:
        """The clock time a trial call may go, while the breaker is open; None when calls may go."""
        with self._lock:
            if self._opened_at is None or self._state() != "open":
                return None
            return self._opened_at + self.cooldown_s
