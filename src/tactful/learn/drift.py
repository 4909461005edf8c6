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
arm is found only by exploration, not by this monitor. Hence the second monitor (``observe_level``):
the played channel's reward level per customer group, against each cell's long-run mean — the fall
of the played arm, which the regressor absorbs, shows there; its alarm resets the group.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

K = 0.5
H = 10.0
#: The played channel's reward level (one-sided, downward): a smaller shift must be seen (a channel
#: falling from 0.7 to 0.3 resolved is ~0.4 σ of one reward), so a smaller ``k``; ``h`` keeps false
#: alarms near one per 10⁴–10⁵ rewards (Siegmund's approximation; the delay for a 0.4 σ fall is ~110
#: rewards). Textbook choices for that shift, not fitted to any spec.
LEVEL_K = 0.25
LEVEL_H = 15.0
#: A level alarm is confirmed before it resets a group: a fresh window of rewards after the alarm
#: (independent of those that raised it) must show the fall persisting, its mean standardised gap
#: below ``-LEVEL_K`` (the CUSUM's own reference value, half the design shift). Under no shift that
#: mean is ~N(0, 1/n), so a window of n rewards confirms a false alarm with probability
#: Φ(−LEVEL_K·√n); n is the alarm's excursion (the rewards since the CUSUM last stood at zero) but
#: at least the n that makes this 1 % (87 rewards); a 0.5 σ fall is then confirmed with probability
#: Φ(0.25·√87) ≈ 99 %. Derived, not fitted; it costs one window of delay.
CONFIRM_FALSE = 0.01
CONFIRM_MIN = math.ceil((NormalDist().inv_cdf(1.0 - CONFIRM_FALSE) / LEVEL_K) ** 2)
CELL_WARMUP = 5  # rewards in a cell before its mean is a reference
WARMUP = 50  # residuals before the detector judges (mean and spread must be known first)
#: Features that say who the customer is and what they want, not when or how they wrote.
_CONTEXT_SKIP = frozenset({"hr", "we", "val", "ang", "urg", "fru", "sent", "ten", "ep", "epg"})


def context_key(features: Mapping[str, str]) -> str:
    # Filtered before sorting (fewer items to sort; keys are unique, so the order is the keys').
    kept = [
        (k, v)
        for k, v in features.items()
        if k not in _CONTEXT_SKIP and k[:1] != "_" and (k[:2] != "f_" or not _numeric_bucket(v))
    ]
    kept.sort()
    return "|".join([f"{k}={v}" for k, v in kept])


#: What a context adds to who the customer is: the situation and the channel they wrote on.
_SITUATION = frozenset({"intent", "in"})


def group_key(features: Mapping[str, str]) -> str:
    """Who the customer is (the context without the situation): a change in a customer group's
    preferences shows in all its situations at once, so monitoring the group sees it with several
    times the evidence a single context has."""
    return group_of(context_key(features))


@functools.lru_cache(maxsize=4096)  # a tenant's contexts repeat; read on every prediction and update
def group_of(key: str) -> str:
    """``group_key`` from an already built ``context_key`` (the learner builds it once per call)."""
    return "g:" + "|".join(p for p in key.split("|") if p.split("=", 1)[0] not in _SITUATION)


_LEVEL = "l:"


def level_key(group: str, channel: str) -> str:
    """A channel's reward level in a customer group (``group_of``)."""
    return f"{_LEVEL}{channel}|{group}"


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
    run: int = 0  # rewards since the level CUSUM last stood at zero
    confirm_left: int = 0  # > 0: an alarm is being confirmed, this many rewards still to watch
    confirm_size: int = 0
    confirm_sum: float = 0.0
    suppressed: int = 0  # level alarms the confirmation window did not bear out
    last_epoch: int = 0  # the highest epoch used (``reset`` never reuses one)
    undo_epoch: int = 0  # the epoch and clock before the newest reset (``undo`` goes back to them)
    undo_learned: int = 0
    provisional: bool = False  # reset on a level alarm still being confirmed

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

    def observe_level(self, gap: float, *, confirm: bool = True) -> str:
        """Feed one reward's gap below its cell's long-run mean: ``"alarm"`` when the level has fallen
        (one-sided CUSUM on the gaps scaled by their spread), then, once its confirmation window is
        over (see ``CONFIRM_MIN``), ``"confirmed"`` or ``"refuted"``; ``""`` otherwise. The gaps are
        already centred by the cell means, and are not centred again: after a rise, the cells'
        means lag, the gaps stay positive for a while, and a running mean of them would later read
        the settled level as a fall."""
        self.count += 1
        self.m2 += gap * gap
        if self.count < WARMUP:
            return ""
        sd = math.sqrt(self.m2 / self.count)
        if sd <= 1e-9:
            return ""
        z = gap / sd
        if self.confirm_left > 0:
            self.confirm_sum += z
            self.confirm_left -= 1
            if self.confirm_left > 0:
                return ""
            if self.confirm_sum / self.confirm_size < -LEVEL_K:
                return "confirmed"
            self.suppressed += 1
            self.confirm_sum = 0.0
            return "refuted"
        self.down = max(0.0, self.down - z - LEVEL_K)
        self.run = self.run + 1 if self.down > 0.0 else 0
        if self.down <= LEVEL_H:
            return ""
        if confirm:
            self.confirm_left = self.confirm_size = max(self.run, CONFIRM_MIN)
            self.confirm_sum = 0.0
            self.down = 0.0
            self.run = 0
        return "alarm"

    def undo(self) -> None:
        """Back to the epoch before the newest reset: its weights were left untouched in the model."""
        self.epoch, self.learned = self.undo_epoch, self.undo_learned
        self.provisional = False

    def reset(self) -> None:
        # A fresh epoch number even after ``undo`` (the undone epoch's weights must not come back).
        self.last_epoch = max(self.last_epoch, self.epoch) + 1
        self.undo_epoch, self.undo_learned = self.epoch, self.learned
        self.epoch = self.last_epoch
        self.learned = self.count = 0
        self.mean = self.m2 = self.up = self.down = self.confirm_sum = 0.0
        self.run = self.confirm_left = self.confirm_size = 0
        self.provisional = False


class DriftMonitor:
    def __init__(self) -> None:
        self.contexts: dict[str, ContextState] = {}
        self.alarms = 0
        self.refuted = 0  # level alarms whose reset was undone
        #: Per (level key, style, hour bucket): [count, mean reward] since the level's last reset.
        self.cells: dict[str, list[float]] = {}

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

    def observe_level(self, key: str, cell: str, reward: float) -> str:
        """The reward level of one channel in one customer group (``key``: ``level_key``), measured
        against the long-run mean of its ``cell`` (context, style and local-hour bucket): a
        channel's reward swings with the hour (availability) and differs by style and situation, so
        a run of night-time rewards, or the policy moving the channel to other situations, must not
        read as a fall. The cell means remember everything since the last reset
        (unlike the regressor, which follows the newest rewards), so a fall stands out.

        ``"alarm"``: the caller resets the group at once (a real drift costs most while it waits);
        the cells are kept as the reference for the confirmation window that follows, whose end
        gives ``"refuted"`` (the caller undoes the reset: the fall did not persist) or
        ``"confirmed"`` (the cells restart from the new level)."""
        seen = self.cells.get(cell)
        if seen is None:
            self.cells[cell] = [1.0, reward]
            return ""
        seen[0] += 1.0
        gap = reward - seen[1]
        seen[1] += gap / seen[0]
        if seen[0] <= CELL_WARMUP:
            return ""
        state = self.state_of(key)
        event = state.observe_level(gap)
        if event == "alarm":
            self.alarms += 1
            return event
        if event == "confirmed":
            state.reset()
            prefix = cell.rsplit("#", 1)[0] + "#"
            for name in [c for c in self.cells if c.startswith(prefix)]:
                del self.cells[name]
        if event == "refuted":
            self.refuted += 1
        return event

    def status(self) -> dict[str, Any]:
        return {
            "contexts": sum(1 for k in self.contexts if not k.startswith(_LEVEL)),
            "drift_alarms": self.alarms,
            "contexts_reset": sum(1 for s in self.contexts.values() if s.epoch > 0),
            "level_alarms_refuted": self.refuted,
        }

    def state(self) -> dict[str, Any]:
        return {
            "alarms": self.alarms,
            "refuted": self.refuted,
            "contexts": {k: asdict(v) for k, v in self.contexts.items()},
            "cells": self.cells,
        }

    @classmethod
    def restore(cls, state: Mapping[str, Any]) -> DriftMonitor:
        monitor = cls()
        monitor.alarms = int(state.get("alarms", 0))
        monitor.refuted = int(state.get("refuted", 0))
        monitor.contexts = {k: ContextState(**v) for k, v in state.get("contexts", {}).items()}
        monitor.cells = {k: [float(x) for x in v] for k, v in state.get("cells", {}).items()}
        return monitor
