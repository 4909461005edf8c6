"""``SnapshotReader``: the bandit as every process but the learner worker holds it (issue 13).

With several processes, one learner per tenant learns (``tactful worker --role learner``: it takes
the outcomes from the bus, closes reward windows and saves snapshots every
``learning.snapshot_every`` rewards). Every other process chooses with the newest snapshot in the
store and never learns: two API processes would otherwise learn two different models. It looks for
a newer snapshot at most every ``refresh_s`` seconds per tenant. Choices are logged exactly as
before (the learning log is what the learner, shadow agreement and OPE read).
"""

from __future__ import annotations

import time
from datetime import datetime

from tactful.domain import Decision, Outcome, TenantId
from tactful.learn.bandit import BanditLearner, _logged_choice, _TenantModel
from tactful.learn.base import Choice
from tactful.policy.schema import LearningSection


class SnapshotReader(BanditLearner):
    name = "bandit-reader"

    def __init__(self, *args: object, refresh_s: float = 5.0, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.refresh_s = refresh_s
        self._checked: dict[TenantId, float] = {}

    def logged(self, decision: Decision, choice: Choice, *, written: bool = False) -> None:
        row = _logged_choice(decision, choice)
        if row is not None and not written:
            self.store.log_choice(row)

    def outcome_recorded(self, outcome: Outcome, now: datetime) -> None:
        """The learner worker takes the outcome from the bus; nothing to do here."""

    def close_due(self, now: datetime) -> int:
        return 0  # only the learner worker turns windows into rewards

    def _tenant(self, tenant_id: TenantId, cfg: LearningSection) -> _TenantModel:
        held = self._models.get(tenant_id)
        last = self._checked.get(tenant_id)
        if held is not None and last is not None and time.monotonic() - last < self.refresh_s:
            return held
        self._checked[tenant_id] = time.monotonic()
        newest = self.store.get_snapshot(tenant_id)
        if held is not None and (newest is None or newest.version == held.snapshot_version):
            return held
        with self._models_lock:
            if newest is None:
                return super()._tenant(tenant_id, cfg)
            self._models[tenant_id] = fresh = self._load(tenant_id, newest)
            return fresh
