"""``BanditLearner``: one VW contextual bandit per tenant, inside the policy.

* ``off``: nothing happens (the rules decide; no log).
* ``shadow``: the rules decide; the bandit scores the same arms, its greedy choice is logged beside
  the rules' (the agreement rate), and it learns from the rules' choice (propensity 1).
* ``live``: the bandit draws an arm from its explorer's distribution over the allowed arms; the
  decision logs that arm's propensity.

Rewards arrive when a decision's window closes (``close_due``); the model then learns and is
snapshotted into the store every ``learning.snapshot_every`` rewards (and on demand). A restart
resumes from the newest snapshot; ``rollback`` appends a copy of an older one and loads it.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tactful.domain import Channel, Decision, Outcome, TenantId
from tactful.domain.decision import LearnerTrace
from tactful.learn.arms import STYLE_SHIFTS, Arm, allowed_arms, moved_to, proactive_on
from tactful.learn.base import Choice
from tactful.learn.features import Features, context_features
from tactful.learn.model import BanditModel, explorer_args
from tactful.learn.rewards import early_horizon, reward_for, window
from tactful.learn.store import LearningStore, LoggedChoice, Snapshot, require_snapshot
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.schema import LearningSection
from tactful.policy.types import PolicyInput, PolicyResult

log = logging.getLogger(__name__)

MODES = ("off", "shadow", "live")
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _Pending:
    features: Features
    arms: tuple[Arm, ...]
    chosen: int
    propensity: float
    greedy: int
    mode: str
    model_version: str
    window: timedelta
    early: timedelta | None = None  # the early horizon (``learning.reward.early``)


@dataclass
class _TenantModel:
    model: BanditModel
    snapshot_version: int
    base_learned: int
    since_snapshot: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def version(self) -> str:
        return f"vw-s{self.snapshot_version}+{self.since_snapshot}"

    @property
    def learned(self) -> int:
        return self.base_learned + self.model.learned


class BanditLearner:
    name = "bandit"
    version = "vw-cb-adf"

    def __init__(
        self,
        store: LearningStore,
        policies: Callable[[TenantId], CompiledPolicy],
        *,
        clock: Clock,
        seed: int = 0,
        close_every: timedelta = timedelta(seconds=60),
        mode_cache_seconds: float = 5.0,
        batch: int = 500,
        retone: bool = True,
    ) -> None:
        self.store = store
        self._policies = policies
        self._clock = clock
        self._seed = seed
        self._close_every = close_every
        self._mode_ttl = mode_cache_seconds
        self._batch = batch
        #: False (the simulator only): move the rules' result to the chosen channel without
        #: re-running the tone stage; simulated rewards depend on the arm, not on tone numbers.
        self._retone = retone
        self._models: dict[TenantId, _TenantModel] = {}
        self._models_lock = threading.Lock()
        self._modes: dict[TenantId, tuple[str | None, float]] = {}
        self._last_close: datetime | None = None
        self._closing = threading.Lock()
        #: Called with (tenant, reward) for every reward learned from (metrics, issue 15).
        self.reward_observers: list[Callable[[TenantId, float], None]] = []

    # -- modes ------------------------------------------------------------------------------------

    def mode(self, tenant_id: TenantId, cfg: LearningSection) -> str:
        cached = self._modes.get(tenant_id)
        if cached is None or time.monotonic() - cached[1] > self._mode_ttl:
            cached = (self.store.get_mode(tenant_id), time.monotonic())
            self._modes[tenant_id] = cached
        return cached[0] or cfg.mode

    def set_mode(self, tenant_id: TenantId, mode: str | None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.store.set_mode(tenant_id, mode, self._clock())
        self._modes.pop(tenant_id, None)

    # -- deciding ---------------------------------------------------------------------------------

    def choose(self, policy: CompiledPolicy, inp: PolicyInput, result: PolicyResult) -> Choice:
        tenant = inp.message.tenant_id
        cfg = policy.document.learning
        mode = self.mode(tenant, cfg)
        if mode == "off":
            return Choice(result)
        arms = allowed_arms(result, cfg.styles, learn_channel=cfg.learn_channel)
        if not arms:
            return Choice(result)
        features = context_features(inp)
        tm = self._tenant(tenant, cfg)
        inbound = inp.message.channel
        proactive = _proactive(result, arms, inbound)
        with tm.lock:
            tm.model.message(inp.message.customer_id, inp.message.sent_at)
            prediction = tm.model.predict(features, arms, proactive)
            version = tm.version
        if mode == "live":
            index, propensity = prediction.chosen, prediction.probabilities[prediction.chosen]
        else:
            index, propensity = 0, 1.0  # arms[0] is the rules' own arm
        final = result
        if index != 0:
            final = self._apply(policy, inp, result, arms[index])
            if final.channel.primary is not arms[index].channel:
                # An action rule moved the channel again (e.g. a switch): keep the rules' decision.
                final, index, propensity = result, 0, prediction.probabilities[0]
        arm = arms[index]
        would = arms[prediction.greedy]
        note = f"learner {mode} ({version}): {arm.key} p={propensity:.3f}"
        if mode == "shadow":
            note += f"; would choose {would.key}"
        trace = LearnerTrace(
            mode=mode,
            model_version=version,
            arm=arm.key,
            propensity=propensity,
            allowed=tuple([a.key for a in arms]),
            would_choose=would.key,
        )
        pending = _Pending(
            dict(prediction.features or features),
            arms,
            index,
            propensity,
            prediction.greedy,
            mode,
            version,
            window(cfg.reward),
            early_horizon(cfg.reward),
        )
        return Choice(final.model_copy(update={"notes": (*final.notes, note)}), trace, pending)

    def _apply(
        self, policy: CompiledPolicy, inp: PolicyInput, result: PolicyResult, arm: Arm
    ) -> PolicyResult:
        if not self._retone:
            return moved_to(result, arm.channel, inp.message.channel)
        return policy.evaluate(inp, channel=arm.channel, tone_shift=STYLE_SHIFTS[arm.style])

    def log_write(self, decision: Decision, choice: Choice) -> Callable[[Any], None] | None:
        row = _logged_choice(decision, choice)
        return None if row is None else self.store.log_choice_write(row)

    def logged(self, decision: Decision, choice: Choice, *, written: bool = False) -> None:
        pending = choice.context
        if not isinstance(pending, _Pending):
            return
        if not written:  # (written: the row committed with the decision; nothing to build)
            self.store.log_choice(_row(decision, pending))
        now = self._clock()
        if self._last_close is None or now - self._last_close >= self._close_every:
            self.close_due(now)

    # -- learning ---------------------------------------------------------------------------------

    def outcome_recorded(self, outcome: Outcome, now: datetime) -> None:
        logged = self.store.get_choice(outcome.tenant_id, outcome.decision_id)
        if logged is not None and (logged.closed or outcome.occurred_at > logged.due_at):
            log.info(
                "late outcome %s for decision %s (window closed %s): stored, not learned from",
                outcome.type.value,
                outcome.decision_id,
                logged.due_at.isoformat(),
            )
        self.close_due(now)

    def close_due(self, now: datetime) -> int:
        """Turn every decision whose window has closed by ``now`` into a reward and learn from it.
        Idempotent: a choice is closed once, by whichever worker gets there first."""
        learned = 0
        with self._closing:
            self._last_close = now
            # Partial rewards first: a choice whose window closes now gets its partial reward
            # learned before the rest of it (the early estimate and the rest stay in step).
            while True:
                early = self.store.early_due_choices(now, self._batch)
                for logged in early:
                    self._learn_early(logged)
                if len(early) < self._batch:
                    break
            while True:
                due = self.store.due_choices(now, self._batch)
                for logged in due:
                    learned += self._learn(logged, now)
                if len(due) < self._batch:
                    return learned

    def _learn_early(self, logged: LoggedChoice) -> None:
        cfg = self._policies(logged.tenant_id).document.learning
        horizon = (logged.early_due_at or logged.decided_at) - logged.decided_at
        facts = self.store.outcome_facts(logged.tenant_id, logged.decision_id)
        partial = reward_for(cfg.reward, logged.decided_at, facts, by=horizon).value
        if not self.store.set_partial(logged.tenant_id, logged.decision_id, partial):
            return  # another worker learned it, or the window closed first
        arms = [Arm.parse(k) for k in logged.arms]
        chosen = arms.index(Arm.parse(logged.chosen))
        self.learn_early(logged.tenant_id, cfg, logged.features, arms, chosen, partial)

    def _learn(self, logged: LoggedChoice, now: datetime) -> int:
        cfg = self._policies(logged.tenant_id).document.learning
        facts = self.store.outcome_facts(logged.tenant_id, logged.decision_id)
        reward = reward_for(cfg.reward, logged.decided_at, facts)
        if not self.store.close_choice(logged.tenant_id, logged.decision_id, reward.value, now):
            return 0
        partial = logged.partial_reward
        if partial is None and logged.early_due_at is not None:
            # Set by another worker after this one read the row? Once closed it cannot change.
            again = self.store.get_choice(logged.tenant_id, logged.decision_id)
            partial = None if again is None else again.partial_reward
        arms = [Arm.parse(k) for k in logged.arms]
        self.learn(
            logged.tenant_id,
            cfg,
            logged.features,
            arms,
            arms.index(Arm.parse(logged.chosen)),
            reward.value,
            logged.propensity,
            partial,
        )
        for observe in self.reward_observers:
            observe(logged.tenant_id, reward.value)
        return 1

    def learn(
        self,
        tenant_id: TenantId,
        cfg: LearningSection,
        features: Features,
        arms: list[Arm],
        chosen: int,
        reward: float,
        propensity: float,
        partial: float | None = None,
    ) -> None:
        """``partial``: what ``learn_early`` learned for this decision (None: nothing)."""
        tm = self._tenant(tenant_id, cfg)
        with tm.lock:
            tm.model.learn(features, arms, chosen, reward, propensity, partial)
            tm.since_snapshot += 1
            due = tm.since_snapshot >= cfg.snapshot_every
        if due:
            self.snapshot(tenant_id, note="periodic")

    def learn_early(
        self,
        tenant_id: TenantId,
        cfg: LearningSection,
        features: Features,
        arms: list[Arm],
        chosen: int,
        partial: float,
    ) -> None:
        """A decision's partial reward at the early horizon (``learning.reward.early``)."""
        tm = self._tenant(tenant_id, cfg)
        with tm.lock:
            tm.model.learn_early(features, arms, chosen, partial)

    # -- snapshots --------------------------------------------------------------------------------

    def snapshot(self, tenant_id: TenantId, note: str = "on demand") -> Snapshot:
        tm = self._tenant(tenant_id, self._policies(tenant_id).document.learning)
        with tm.lock:
            saved = self.store.save_snapshot(
                tenant_id, tm.model.to_bytes(), tm.model.args, tm.learned, note, self._clock()
            )
            tm.snapshot_version, tm.base_learned, tm.since_snapshot = saved.version, saved.learned, 0
            tm.model.learned = 0
        return saved

    def rollback(self, tenant_id: TenantId, version: int) -> Snapshot:
        old = require_snapshot(self.store, tenant_id, version)
        saved = self.store.save_snapshot(
            tenant_id, old.model, old.args, old.learned, f"rollback to v{version}", self._clock()
        )
        with self._models_lock:
            self._models[tenant_id] = self._load(tenant_id, saved)
        return saved

    def tenants(self) -> list[TenantId]:
        """Tenants whose model this process holds."""
        return list(self._models)

    def learned(self, tenant_id: TenantId) -> int:
        """Rewards the tenant's model has learned from, over its snapshots."""
        return self._tenant(tenant_id, self._policies(tenant_id).document.learning).learned

    def exploration(self, tenant_id: TenantId) -> dict[str, Any]:
        """The explorer's choice and the drift monitor's counts (the ``exploration`` of ``status``)."""
        return self._tenant(tenant_id, self._policies(tenant_id).document.learning).model.status()

    def model_version(self, tenant_id: TenantId) -> str:
        return self._tenant(tenant_id, self._policies(tenant_id).document.learning).version

    def _tenant(self, tenant_id: TenantId, cfg: LearningSection) -> _TenantModel:
        found = self._models.get(tenant_id)
        if found is not None:
            return found
        with self._models_lock:
            found = self._models.get(tenant_id)
            if found is None:
                newest = self.store.get_snapshot(tenant_id)
                if newest is not None:
                    found = self._load(tenant_id, newest)
                else:
                    args = explorer_args(cfg.explorer, cfg.epsilon)
                    early = cfg.reward.early is not None
                    found = _TenantModel(
                        BanditModel(args, seed=self._tenant_seed(tenant_id), early=early), 0, 0
                    )
                self._models[tenant_id] = found
            return found

    def _load(self, tenant_id: TenantId, snap: Snapshot) -> _TenantModel:
        model = BanditModel(snap.args, seed=self._tenant_seed(tenant_id), model_bytes=snap.model)
        return _TenantModel(model, snap.version, snap.learned)

    def _tenant_seed(self, tenant_id: TenantId) -> int:
        return (self._seed * 1_000_003 + zlib.crc32(tenant_id.encode())) % (2**31)

    # -- reporting --------------------------------------------------------------------------------

    def status(self, tenant_id: TenantId, *, limit: int = 10_000) -> dict[str, Any]:
        cfg = self._policies(tenant_id).document.learning
        choices = self.store.choices(tenant_id, limit=limit)
        shadow = [c for c in choices if c.mode == "shadow"]
        live = [c for c in choices if c.mode == "live"]
        closed = [c for c in choices if c.closed and c.reward is not None]
        snapshots = self.store.list_snapshots(tenant_id)
        return {
            "tenant_id": tenant_id,
            "mode": self.mode(tenant_id, cfg),
            "policy_mode": cfg.mode,
            "mode_override": self.store.get_mode(tenant_id),
            "model_version": self._tenant(tenant_id, cfg).version,
            # The explorer's online choice (gamma scale and its AdaHedge weights) and drift alarms.
            "exploration": self._tenant(tenant_id, cfg).model.status(),
            "snapshots": len(snapshots),
            "newest_snapshot": snapshots[0].version if snapshots else None,
            "logged": len(choices),
            "open_windows": len(choices) - len([c for c in choices if c.closed]),
            "rewarded": len(closed),
            "mean_reward": round(sum(c.reward or 0.0 for c in closed) / len(closed), 4) if closed else None,
            "shadow_decisions": len(shadow),
            "shadow_agreement": (
                round(sum(c.greedy_arm == c.rules_arm for c in shadow) / len(shadow), 4) if shadow else None
            ),
            "live_decisions": len(live),
            "live_differs_from_rules": (
                round(sum(c.chosen != c.rules_arm for c in live) / len(live), 4) if live else None
            ),
        }


def _proactive(result: PolicyResult, arms: tuple[Arm, ...], inbound: Channel) -> list[bool]:
    """Per arm, whether playing it initiates a contact (``proactive_on``, once per channel: the
    arms come channel by channel, one per tone style)."""
    out: list[bool] = []
    channel: Channel | None = None
    flag = False
    for arm in arms:
        if arm.channel is not channel:
            channel = arm.channel
            flag = proactive_on(result, channel, inbound)
        out.append(flag)
    return out


def _logged_choice(decision: Decision, choice: Choice) -> LoggedChoice | None:
    """What the learning log keeps of a decision the bandit took part in (None: it did not)."""
    pending = choice.context
    return _row(decision, pending) if isinstance(pending, _Pending) else None


def _row(decision: Decision, pending: _Pending) -> LoggedChoice:
    return LoggedChoice(
        tenant_id=decision.tenant_id,
        decision_id=decision.decision_id,
        decided_at=decision.decided_at,
        due_at=decision.decided_at + pending.window,
        mode=pending.mode,
        model_version=pending.model_version,
        arms=tuple(a.key for a in pending.arms),
        chosen=pending.arms[pending.chosen].key,
        propensity=pending.propensity,
        rules_arm=pending.arms[0].key,
        greedy_arm=pending.arms[pending.greedy].key,
        features=pending.features,
        early_due_at=None if pending.early is None else decision.decided_at + pending.early,
    )
