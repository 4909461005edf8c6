"""Circuit breakers around the rich signal tiers (issue 13): a tier that fails repeatedly is not
called while its breaker is open — the net answers at once and the decision says so — and one trial
call after the cool-down closes it again. The breaker's clock is injected (no sleeps)."""

from __future__ import annotations

from tests.engine.tier_doubles import StubTier

from tactful.domain import Channel
from tactful.signals.selection import BREAKER_COOLDOWN_S, BREAKER_FAILURES, TierSelector

EXPECTED = {"transformer": 30.0}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_tier_opens_its_breaker_and_is_not_called_until_the_trial() -> None:
    clock = Clock()
    fast, transformer = StubTier("fast"), StubTier("transformer", fail=RuntimeError("model server down"))
    selector = TierSelector([fast, transformer], expected_ms=EXPECTED, breaker_clock=clock)
    breaker = selector.breakers["transformer"]
    try:
        for _ in range(BREAKER_FAILURES):
            outcome = selector.signals("my card is blocked", Channel.EMAIL)
            failed = "signals: tier transformer failed (RuntimeError); fast result used"
            assert outcome.degradations == (failed,)
        assert breaker.state == "open" and transformer.calls == BREAKER_FAILURES

        outcome = selector.signals("my card is blocked", Channel.EMAIL)
        assert outcome.signals.tier == "fast"
        assert outcome.degradations == (
            f"signals: tier transformer circuit open (failed or late {BREAKER_FAILURES} times in a row); "
            "fast result used",
        )
        assert transformer.calls == BREAKER_FAILURES  # not called while open

        transformer.fail = None  # the model recovers; after the cool-down one trial call goes
        clock.now += BREAKER_COOLDOWN_S
        assert breaker.state == "half_open"
        outcome = selector.signals("my card is blocked", Channel.EMAIL)
        assert outcome.signals.tier == "transformer" and outcome.degradations == ()
        assert breaker.state == "closed"
    finally:
        selector.close(wait=True)


def test_a_failed_trial_reopens_the_breaker() -> None:
    clock = Clock()
    fast, transformer = StubTier("fast"), StubTier("transformer", fail=RuntimeError("still down"))
    selector = TierSelector([fast, transformer], expected_ms=EXPECTED, breaker_clock=clock)
    breaker = selector.breakers["transformer"]
    try:
        for _ in range(BREAKER_FAILURES):
            selector.signals("hello", Channel.EMAIL)
        clock.now += BREAKER_COOLDOWN_S
        selector.signals("hello", Channel.EMAIL)  # the trial fails
        assert breaker.state == "open" and breaker.opened == 2
        assert transformer.calls == BREAKER_FAILURES + 1
    finally:
        selector.close(wait=True)


def test_the_net_has_no_breaker() -> None:
    selector = TierSelector([StubTier("fast"), StubTier("embed")])
    assert set(selector.breakers) == {"embed"}
    assert selector.breakers["embed"].name == "tier_embed"
