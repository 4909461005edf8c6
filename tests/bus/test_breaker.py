"""The circuit breaker's states, table-driven over an injected clock (no sleeps)."""

from __future__ import annotations

import pytest

from tactful.breaker import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def boom() -> int:
    raise ConnectionError("peer gone")


def test_opens_after_threshold_fails_fast_then_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("nats", threshold=3, cooldown_s=5, clock=clock)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(boom)
        assert breaker.state == "closed"
    with pytest.raises(ConnectionError):
        breaker.call(boom)
    assert breaker.state == "open" and breaker.opened == 1
    called = []
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: called.append(1))
    assert called == []  # open: the peer is not called at all
    clock.now = 5.0
    assert breaker.state == "half_open"
    assert breaker.call(lambda: 7) == 7
    assert breaker.state == "closed"


def test_a_failed_trial_reopens_for_another_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("redis", threshold=1, cooldown_s=2, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(boom)
    clock.now = 2.0
    with pytest.raises(ConnectionError):
        breaker.call(boom)  # the trial
    assert breaker.state == "open" and breaker.opened == 2
    clock.now = 3.9
    assert breaker.state == "open"
    clock.now = 4.0
    assert breaker.state == "half_open"


def test_errors_outside_the_failure_types_do_not_count() -> None:
    breaker = CircuitBreaker("tier", threshold=1, failures=(ConnectionError,), clock=Clock())
    with pytest.raises(ValueError):
        breaker.call(lambda: int("x"))
    assert breaker.state == "closed"
