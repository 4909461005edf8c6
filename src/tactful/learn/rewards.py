"""Outcomes → one reward per decision, by the tenant's ``learning.reward`` definition.

Evaluated once, when the decision's window closes: the outcomes that occurred inside the window
count; later ones are stored (the outcome table keeps everything) but never learned from.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tactful.domain import Outcome, OutcomeType
from tactful.policy.schema import RewardSection, duration_seconds


@dataclass(frozen=True, slots=True)
class OutcomeFact:
    """What the reward needs from an outcome (the store reads these without building ``Outcome``)."""

    type: OutcomeType
    value: float | None
    occurred_at: datetime

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomeFact:
        return cls(outcome.type, outcome.value, outcome.occurred_at)


@dataclass(frozen=True, slots=True)
class Reward:
    value: float
    counted: int  # outcomes inside the window that carried a weight
    late: int  # outcomes after the window: logged, not learned from


def window(spec: RewardSection) -> timedelta:
    return _window(spec.window)


@functools.lru_cache(maxsize=64)  # read on every live decision
def _window(text: str) -> timedelta:
    return timedelta(seconds=duration_seconds(text))


def partial_reward(spec: RewardSection, fact: OutcomeFact, decided_at: datetime) -> float | None:
    """One outcome's contribution, or None when it does not count (e.g. a re-contact after N hours)."""
    weight = spec.weights.get(fact.type.value, 0.0)
    if fact.type is OutcomeType.CSAT:
        if fact.value is None:
            return None
        return weight * (min(max(fact.value, 1.0), 5.0) - 3.0) / 2.0
    if fact.type is OutcomeType.RECONTACT:
        within = timedelta(seconds=duration_seconds(spec.recontact_within))
        if fact.occurred_at - decided_at > within:
            return None
    return weight


def early_horizon(spec: RewardSection) -> timedelta | None:
    """How soon after a decision its partial reward is learned (None: no early estimate)."""
    return None if spec.early is None else _window(spec.early)


def reward_for(
    spec: RewardSection, decided_at: datetime, facts: Iterable[OutcomeFact], *, by: timedelta | None = None
) -> Reward:
    """``by``: only the outcomes this soon after the decision (the early estimate's partial reward)."""
    closes = decided_at + (window(spec) if by is None else min(by, window(spec)))
    parts: list[float] = []
    late = 0
    for fact in facts:
        if fact.occurred_at > closes:
            late += 1
            continue
        part = partial_reward(spec, fact, decided_at)
        if part is not None:
            parts.append(part)
    if not parts:
        return Reward(spec.default, 0, late)
    if spec.aggregate == "sum":
        total = sum(parts)
    elif spec.aggregate == "max":
        total = max(parts)
    else:
        total = min(parts)
    lo, hi = spec.clip
    return Reward(min(max(total, lo), hi), len(parts), late)
