"""Shared by the benchmark scripts: percentiles over timing samples and a fixed bench clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank, no interpolation) of ``values``, which need not be sorted."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Clock:
    """A clock the bench controls: fixed at ``now`` unless ``step`` moves it forward on every read
    (so feature windows and reward windows see time pass without waiting for it)."""

    def __init__(self, step: timedelta = timedelta(0)) -> None:
        self.now = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


class DecisionClock(Clock):
    """7 s per decision however often it is read: the engine's store stamps its rows with the
    engine's clock, so a clock that stepped per read would make the bench's time (and with it the
    feature windows' contents) depend on how many reads the code under test makes. A script
    advances it once per decision (``advance``), or lets the engine do it after each decision
    (``attach``)."""

    def advance(self) -> None:
        self.now += timedelta(seconds=7)

    def attach(self, engine: Any) -> None:
        """Advance after each of ``engine``'s decisions (one of its observers)."""
        engine.observers.append(lambda _decision: self.advance())


def cpu_unit_ms(repeats: int = 300) -> float:
    """The median thread CPU time of a fixed pure-Python task shaped like a decision's own work
    (build a nested record, canonical JSON both ways, a regex pass, a SHA-256): the baseline for
    CPU figures. The bare durable commit is fsync-bound and moved 2.7× between sessions on the
    same machine; this moves with the interpreter and the CPU only, as the decision's CPU does."""
    import hashlib
    import json
    import re
    import statistics
    import time

    words = re.compile(r"\w+")
    text = "I was charged twice for my order #4411, please refund the second payment today. " * 3

    def task() -> None:
        record = {
            f"k{i}": {"value": i * 0.5, "tokens": words.findall(text)[i % 7 :], "ok": i % 3 == 0}
            for i in range(24)
        }
        blob = json.dumps(record, sort_keys=True, separators=(",", ":"))
        hashlib.sha256(blob.encode()).hexdigest()
        json.loads(blob)

    samples = []
    for _ in range(repeats):
        c0 = time.thread_time()
        task()
        samples.append((time.thread_time() - c0) * 1000)
    return statistics.median(samples)
