"""Drift detection per context and per customer group: a two-sided CUSUM on the model's
standardised residuals.

A context is what tells customers apart for the bandit (intent, tier, language, inbound channel and
the tenant's categorical features), not the hour or the message's signal buckets. The residual is the
reward minus the model's prediction for the arm that was played. The model's bias in a context is
not zero, so residuals are centred on their own running mean and scaled by their running standard
deviation since the last reset; the CUSUM then flags a shift of that mean. ``k = 0.5`` and ``h = 10``
detect a one-σ shift (median 16 rewards after it) and raise about one false alarm per 10⁵ rewards
(measured on Gaussian residuals, 30 seeds × 5,000); not fitted to any spec.

On an alarm the model starts a new *epoch* for the context: a fresh feature crossed with the arms,
whose weights start at zero with the full learning rate, so the affected part of the model relearns
while the rest is untouched; and the context's exploration clock restarts (more exploration there).
A customer group (``group_key``: the context without the situation) is monitored the same way.

What it cannot see: a change in an arm that is not being played. The regressor follows the played
arm's rewards closely (on the telco spec's drift the residual mean stayed ~0), so a newly better
arm is found only by exploration, not by this monitor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

K = 0.5
H = 10.0
WARMUP = 50  # residuals before the detector judges (mean and spread must be known first)
#: Features that say who the customer is and what they want, not when or how they wrote.
_CONTEXT_SKIP = frozenset({"hr", "lh", "we", "val", "ang", "urg", "fru", "sent", "ten", "ep", "epg"})


def context_key(features: Mapping[str, str]) -> str:
    parts = [
        f"{k}={v}"
        for k, v in sorted(features.items())
        if k not in _CONTEXT_SKIP and not (k.startswith("f_") and _numeric_bucket(v))
    ]
    return "|".join(parts)


#: What a context adds to who the customer is: the situation and the channel they wrote on.
_SITUATION = frozenset({"intent", "in"})


def group_key(features: Mapping[str, str]) -> str:
    """Who the customer is (the context without the situation): a change in a customer group's
    preferences shows in all its situations at once, so monitoring the group sees it with several
    times the evidence a single context has."""
    return group_of(context_key(features))


def group_of(key: str) -> str:
    """``group_key`` from an already built ``context_key`` (the learner builds it once per call)."""
    return "g:" + "|".join(p for p in key.split("|") if p.split("=", 1)[0] not in _SITUATION)


def _numeric_bucket(token: str) -> bool:
    body = token.removeprefix("-")
    return body.startswith("m") and body[1:].isdigit()


@dataclass
class ContextState:
    epoch: int = 0
    learned: int = 0  # rewards learned since the epoch began (SquareCB's clock)
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    up: float = 0.0
    down: float = 0.0

    def observe(self, residual: float) -> bool:
        """Feed one residual; True when the CUSUM crosses its threshold (the caller resets)."""
        self.learned += 1
        self.count += 1
        delta = residual - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (residual - self.mean)
        if self.count < WARMUP:
            return False
        sd = math.sqrt(self.m2 / (self.count - 1))
        if sd <= 1e-9:
            return False
        z = (residual - self.mean) / sd
        self.up = max(0.0, self.up + z - K)
        self.down = max(0.0, self.down - z - K)
        return self.up > H or self.down > H

    def reset(self) -> None:
        self.epoch += 1
        self.learned = self.count = 0
        self.mean = self.m2 = self.up = self.down = 0.0


class DriftMonitor:
    def __init__(self) -> None:
        self.contexts: dict[str, ContextState] = {}
        self.alarms = 0

    def state_of(self, key: str) -> ContextState:
        found = self.contexts.get(key)
        if found is None:
            found = self.contexts[key] = ContextState()
        return found

    def observe(self, key: str, residual: float) -> bool:
        state = self.state_of(key)
        if state.observe(residual):
            state.reset()
            self.alarms += 1
            return True
        return False

    def status(self) -> dict[str, Any]:
        return {
            "contexts": len(self.contexts),
            "drift_alarms": self.alarms,
            "contexts_reset": sum(1 for s in self.contexts.values() if s.epoch > 0),
        }

    def state(self) -> dict[str, Any]:
        return {"alarms": self.alarms, "contexts": {k: asdict(v) for k, v in self.contexts.items()}}

    @classmethod
    def restore(cls, state: Mapping[str, Any]) -> DriftMonitor:
        monitor = cls()
        monitor.alarms = int(state.get("alarms", 0))
        monitor.contexts = {k: ContextState(**v) for k, v in state.get("contexts", {}).items()}
        return monitor
