"""Which signal tier answers a message: the richest one that fits the channel's latency budget,
with the cheapest tier as the safety net and every fallback said out loud.

For each message the ``TierSelector``
1. picks the richest tier whose expected latency fits the inbound channel's budget (voice is
   tight, email loose: ``DEFAULT_BUDGETS_MS``) and starts it on a worker thread;
2. meanwhile runs the cheapest tier (``fast`` or the lexicon: well under a millisecond) inline —
   the safety net;
3. waits for the rich tier until the budget is spent. If it raised, was unavailable, was still
   busy with earlier late calls, or is late, the safety net's result is used and the outcome
   carries a degradation naming the tier and why.

A tier can also be *gated* on what the safety net found (``DEFAULT_GATES``): the multilingual tier
only reads messages the net did not find to be English, where its heads beat the fast tier's, and
the transformer tier (an English model) only English ones. For a gated tier the net runs first,
then the tier if the gate opens, within the same budget.

"Expected latency" starts from a warm-up measurement when the tier is loaded (or a given figure)
and follows every completed call as a moving average, late calls included (they finish in the
background), so a tier that keeps missing a budget stops being chosen for it.

Each rich tier has a circuit breaker (``tactful.breaker``): ``BREAKER_FAILURES`` calls in a row that
fail or are late open it, and for ``BREAKER_COOLDOWN_S`` the tier is not called at all — the safety
net answers at once and the decision says ``circuit open`` — then one trial call decides whether it
closes again. A slow model then costs nothing instead of a budget's wait per message. Its state is
in ``/readyz`` (``tier_<name>``) and ``tactful_breaker_open{breaker="tier_<name>"}``.

A tier whose extra or artifact is missing at start-up is skipped with one log line per process
(``load_tiers``), and decisions are not marked degraded for it: the installation simply has fewer
tiers. A tier that fails while running is a degradation of that decision.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from typing import Final

from tactful.breaker import CircuitBreaker
from tactful.config import Settings
from tactful.domain import Channel, Signals
from tactful.signals.base import SignalTier, TierUnavailable, Warms

log = logging.getLogger(__name__)

#: Richness order, poorest first; a selector keeps its tiers in this order.
TIER_ORDER: Final = ("lexicon", "fast", "embed", "multilingual", "transformer")

#: Per-channel budget for the whole signals stage, in ms. Measured here (bench/tiers.py, 2 shared
#: cores): lexicon/fast < 1 ms, embed ≈ 1–3 ms, transformer ≈ 25–35 ms per message. Voice must
#: answer while the caller is on the line: the embed tier at most. Chat, SMS and social replies are
#: read seconds later: the transformer fits. Email is answered in minutes: the loosest budget, so
#: even a loaded machine keeps the richest tier there.
DEFAULT_BUDGETS_MS: Final[Mapping[Channel, float]] = {
    Channel.VOICE: 15.0,
    Channel.CHAT: 50.0,
    Channel.SMS: 50.0,
    Channel.SOCIAL: 50.0,
    Channel.SOCIAL_DM: 50.0,
    Channel.EMAIL: 250.0,
}

#: Typical single-message latency per tier (ms) when a tier is not warmed up / measured.
DEFAULT_EXPECTED_MS: Final[Mapping[str, float]] = {
    "lexicon": 0.3,
    "fast": 0.5,
    "embed": 3.0,
    "multilingual": 10.0,
    "transformer": 30.0,
}

#: A few short customer turns to warm a tier up and measure it on load.
WARM_UP_TEXTS: Final = (
    "Where is my order? It was due yesterday.",
    "I was charged twice, please refund me",
    "thanks for the quick help!",
    "My card is blocked and I need it today",
    "Can I change the address on my account?",
)

#: Tiers that only read some messages, by what the safety net found. The multilingual tier's heads
#: beat the fast tier's on non-English text (UMSAB); the transformer tier's encoder (MiniLM, an
#: English WordPiece vocabulary) and heads are English. So a non-English turn goes to the
#: multilingual tier and an English one to the transformer, each where its budget allows.
DEFAULT_GATES: Final[Mapping[str, Callable[[Signals], bool]]] = {
    "multilingual": lambda net: net.language != "en",
    "transformer": lambda net: net.language == "en",
}

#: Failed or late calls in a row that open a rich tier's breaker, and how long it stays open.
BREAKER_FAILURES: Final = 5
BREAKER_COOLDOWN_S: Final = 30.0

_EWMA: Final = 0.2  # weight of the newest observation in the moving average
_MAX_IN_FLIGHT: Final = 2  # late calls still running before a tier counts as busy

Timer = Callable[[], float]  # seconds, monotonic


@dataclass(frozen=True)
class TierOutcome:
    """The signals to use and, when a richer tier was meant to answer but did not, why."""

    signals: Signals
    degradations: tuple[str, ...] = ()


def load_tiers(names: Sequence[str], loader: Callable[[str], SignalTier] | None = None) -> list[SignalTier]:
    """The named tiers that can be loaded here, poorest first. A missing one is logged once per
    process and left out; when none loads, the lexicon tier (always installed) is used."""
    if loader is None:
        from tactful.signals.tiers import load_tier

        loader = load_tier
    loaded: list[SignalTier] = []
    for name in sorted(set(names), key=_richness):
        try:
            loaded.append(loader(name))
        except TierUnavailable as exc:
            _log_unavailable_once(name, str(exc))
    if not loaded:
        from tactful.signals import default_tier

        loaded.append(default_tier())
    return loaded


@cache
def _log_unavailable_once(name: str, reason: str) -> None:
    log.warning("signal tier %s is not available and is skipped: %s", name, reason)


def _richness(name: str) -> int:
    return TIER_ORDER.index(name) if name in TIER_ORDER else len(TIER_ORDER)


def measure_ms(
    tier: SignalTier, texts: Sequence[str] = WARM_UP_TEXTS, timer: Timer = time.perf_counter
) -> float:
    """Warm ``tier`` up (first calls load lazily) and return its median latency over ``texts``."""
    tier.extract(texts[0])
    times = []
    for text in texts:
        t0 = timer()
        tier.extract(text)
        times.append((timer() - t0) * 1000)
    return sorted(times)[len(times) // 2]


class TierSelector:
    """Picks and runs the tier for each message. ``tiers`` poorest first; ``tiers[0]`` is the
    safety net. Thread-safe; ``close`` stops the worker threads."""

    def __init__(
        self,
        tiers: Sequence[SignalTier],
        *,
        budgets_ms: Mapping[Channel, float] | None = None,
        expected_ms: Mapping[str, float] | None = None,
        timer: Timer = time.perf_counter,
        workers: int = 2,
        gates: Mapping[str, Callable[[Signals], bool]] | None = None,
        breaker_clock: Timer = time.monotonic,
    ) -> None:
        if not tiers:
            raise ValueError("a tier selector needs at least one tier")
        self.tiers = list(tiers)
        self.net = self.tiers[0]
        self.budgets_ms = {**DEFAULT_BUDGETS_MS, **(budgets_ms or {})}
        given = expected_ms or {}
        self._expected = {
            t.name: given.get(t.name, DEFAULT_EXPECTED_MS.get(t.name, 50.0)) for t in self.tiers
        }
        self._timer = timer
        self._lock = threading.Lock()
        self._in_flight = {t.name: 0 for t in self.tiers}
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._workers = workers
        self.gates = dict(DEFAULT_GATES if gates is None else gates)
        #: One breaker per rich tier (the net has none: it is the fallback).
        self.breakers = {
            t.name: CircuitBreaker(
                f"tier_{t.name}",
                threshold=BREAKER_FAILURES,
                cooldown_s=BREAKER_COOLDOWN_S,
                clock=breaker_clock,
            )
            for t in self.tiers[1:]
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> TierSelector:
        """The configured tiers that load here, each rich tier warmed up and measured once."""
        tiers = load_tiers(settings.signal_tiers)
        if isinstance(tiers[0], Warms):  # the net answers every message: fill its caches now
            tiers[0].warm()
        return cls(
            tiers,
            budgets_ms={Channel(name): ms for name, ms in settings.tier_budgets_ms},
            expected_ms={tier.name: measure_ms(tier) for tier in tiers[1:]},
        )

    @classmethod
    def single(cls, tier: SignalTier) -> TierSelector:
        """One tier, run inline: the engine's behaviour when it is given a tier directly."""
        return cls([tier])

    def expected_ms(self, name: str) -> float:
        with self._lock:
            return self._expected[name]

    def choose(self, channel: Channel, net: Signals | None = None) -> SignalTier:
        """The richest tier expected to fit ``channel``'s budget (the net if none does); with the
        net's ``Signals``, the richest whose gate (if any) opens on them."""
        budget = self.budgets_ms.get(channel, max(self.budgets_ms.values()))
        with self._lock:
            for tier in reversed(self.tiers[1:]):
                if self._expected[tier.name] <= budget:
                    gate = self.gates.get(tier.name)
                    if gate is None or net is None or gate(net):
                        return tier
        return self.net

    def signals(self, text: str, channel: Channel) -> TierOutcome:
        start = self._timer()
        budget_ms = self.budgets_ms.get(channel, max(self.budgets_ms.values()))
        chosen = self.choose(channel)
        if chosen is self.net:
            return self._net_only(text)
        if chosen.name in self.gates:  # the net decides whether the gated tier reads this message
            first = self._net_only(text)
            chosen = self.choose(channel, first.signals)
            if chosen is self.net:
                return first
            return self._rich(chosen, text, channel, start, budget_ms, first)
        return self._rich(chosen, text, channel, start, budget_ms, None)

    def _rich(
        self,
        chosen: SignalTier,
        text: str,
        channel: Channel,
        start: float,
        budget_ms: float,
        net: TierOutcome | None,
    ) -> TierOutcome:
        """Run ``chosen`` on a worker within what is left of the budget; the net's outcome (run
        now, beside it, unless given) is the fallback."""
        with self._lock:
            busy = self._in_flight[chosen.name] >= _MAX_IN_FLIGHT
            if not busy:
                self._in_flight[chosen.name] += 1
        if busy:
            return self._fallback(
                chosen, f"busy ({_MAX_IN_FLIGHT} late calls still running)", net or self._net_only(text)
            )
        breaker = self.breakers[chosen.name]
        if not breaker.enter():
            with self._lock:
                self._in_flight[chosen.name] -= 1
            why = f"circuit open (failed or late {breaker.threshold} times in a row)"
            return self._fallback(chosen, why, net or self._net_only(text))
        try:
            future = self._executor().submit(self._timed, chosen, text)
        except RuntimeError:  # closed (the engine is shutting down): answer from the net, say so
            breaker.cancel_trial()
            with self._lock:
                self._in_flight[chosen.name] -= 1
            return self._fallback(chosen, "closed", net or self._net_only(text))
        if net is None:
            net = self._net_only(text)
        remaining_s = max(0.0, budget_ms / 1000 - (self._timer() - start))
        try:
            rich = future.result(timeout=remaining_s)
        except FutureTimeout:
            why = f"late (over the {budget_ms:g} ms {channel.value} budget)"
            self._observe(chosen.name, budget_ms)  # a lower bound; the real time lands when it ends
            self._breaker_failed(breaker, why)
        except TierUnavailable as exc:
            why = f"unavailable ({exc})"
            breaker.cancel_trial()  # the tier is dropped for good below; nothing to break
            self._drop(chosen, str(exc))
        except Exception as exc:  # the tier's own failure: degrade visibly, never silently
            log.error("signal tier %s failed: %r", chosen.name, exc)
            why = f"failed ({type(exc).__name__})"
            self._breaker_failed(breaker, why)
        else:
            breaker.record_success()
            return TierOutcome(rich)
        return self._fallback(chosen, why, net)

    def close(self, *, wait: bool = False) -> None:
        """Stop the worker threads; ``wait`` also lets late calls still running finish first."""
        with self._lock:
            self._closed = True
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    # -- details ---------------------------------------------------------------------------------

    def _net_only(self, text: str) -> TierOutcome:
        try:
            return TierOutcome(self._timed(self.net, text, count=False))
        except Exception as exc:
            log.error("signal tier %s failed: %r", self.net.name, exc)
            return TierOutcome(
                Signals(tier="none"),
                (f"signals: tier {self.net.name} failed ({type(exc).__name__}); neutral signals used",),
            )

    def _timed(self, tier: SignalTier, text: str, *, count: bool = True) -> Signals:
        t0 = self._timer()
        try:
            return tier.extract(text)
        finally:
            self._observe(tier.name, (self._timer() - t0) * 1000)
            if count:
                with self._lock:
                    self._in_flight[tier.name] -= 1

    @staticmethod
    def _breaker_failed(breaker: CircuitBreaker, why: str) -> None:
        if breaker.record_failure() and breaker.state == "open":
            log.warning("%s: circuit open for %gs after it was %s", breaker.name, breaker.cooldown_s, why)

    def _observe(self, name: str, ms: float) -> None:
        with self._lock:
            if name in self._expected:
                self._expected[name] = (1 - _EWMA) * self._expected[name] + _EWMA * ms

    def _drop(self, tier: SignalTier, reason: str) -> None:
        with self._lock:
            if tier in self.tiers and tier is not self.net:
                self.tiers.remove(tier)
        _log_unavailable_once(tier.name, reason)

    @staticmethod
    def _fallback(tier: SignalTier, why: str, net: TierOutcome) -> TierOutcome:
        used = net.signals.tier if net.signals.tier != "none" else "neutral"
        reason = f"signals: tier {tier.name} {why}; {used} result used"
        return TierOutcome(net.signals, (*net.degradations, reason))

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the tier selector is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="signals")
            return self._pool


__all__ = [
    "DEFAULT_BUDGETS_MS",
    "DEFAULT_EXPECTED_MS",
    "DEFAULT_GATES",
    "TIER_ORDER",
    "TierOutcome",
    "TierSelector",
    "load_tiers",
    "measure_ms",
]
