"""Shared by the benchmark scripts: percentiles over timing samples and a fixed bench clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta


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
