"""Run rules-only, the bandit (live), uniform random and the oracle on the same simulated customers.

Every strategy decides through the real policy (``CompiledPolicy.evaluate``): it only ever picks among
the arms the policy left. Violations are then counted by an independent check of the hard constraints
(consent, do-not-contact, quiet hours, the fatigue cap), so a leak in the masking would show up.
Outcomes use common random numbers: the same contact ends the same way under every strategy that
picks the same arm, which makes the comparison far less noisy than independent draws.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from tactful.domain import INTRUSIVE_CHANNELS, continues_conversation
from tactful.domain.customer import QuietHours
from tactful.learn.arms import Arm, allowed_arms, moved_to
from tactful.learn.bandit import BanditLearner, _Pending
from tactful.learn.rewards import early_horizon
from tactful.learn.rewards import window as learning_window
from tactful.learn.simulator.foresight import oracle_plan
from tactful.learn.simulator.memo import PolicyMemo, RewardMemo
from tactful.learn.simulator.spec import PopulationSpec
from tactful.learn.simulator.tone import RealisedTone
from tactful.learn.simulator.world import TENANT, Contact, World
from tactful.learn.store import MemoryLearningStore
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.local_time import in_quiet_window, resolve_clock
from tactful.policy.types import PolicyInput, PolicyResult

STRATEGIES = ("rules", "bandit", "random", "oracle")
#: Run only when asked: the per-contact argmax of the expected reward (the oracle before it planned
#: around fatigue; ``learn/simulator/foresight.py``), to show what the planning is worth.
OPTIONAL = ("greedy",)
_CURVE_POINTS = 200


@dataclass
class _Track:
    name: str
    reward: float = 0.0
    expected: float = 0.0
    violations: int = 0
    differs_from_rules: int = 0
    curve: list[float] = field(default_factory=list)  # cumulative expected reward at checkpoints
    per_decision: list[float] = field(default_factory=list)  # expected reward of every decision
    proactive: dict[int, deque[datetime]] = field(default_factory=dict)

    def proactive_24h(self, customer: int, now: datetime) -> int:
        history = self.proactive.get(customer)
        if not history:
            return 0
        while history and now - history[0] >= timedelta(hours=24):
            history.popleft()
        return len(history)


@dataclass(frozen=True)
class LoggedRow:
    """A decision as logged for off-policy evaluation (the same fields the store keeps)."""

    features: dict[str, str]
    arms: tuple[str, ...]
    chosen: str
    propensity: float
    reward: float
    expected: dict[str, float]  # the true expected reward of every allowed arm (simulation only)


def simulate(
    spec: PopulationSpec,
    policy: CompiledPolicy,
    *,
    decisions: int,
    seed: int,
    strategies: Iterable[str] = STRATEGIES,
    explorer: str | None = None,
    log_strategy: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], list[LoggedRow]]:
    """Returns the JSON-ready report and, when ``log_strategy`` is set, that strategy's logged rows."""
    chosen = [s for s in (*STRATEGIES, *OPTIONAL) if s in set(strategies)]
    if not chosen:
        raise ValueError(f"no known strategy; choose from {', '.join((*STRATEGIES, *OPTIONAL))}")
    policy = PolicyMemo(policy)
    cfg = policy.document.learning
    if explorer is not None:
        cfg = cfg.model_copy(update={"explorer": explorer})
        policy_for_learner: CompiledPolicy = PolicyMemo(_with_learning(policy, cfg))
    else:
        policy_for_learner = policy
    started = time.perf_counter()
    world = World(spec, cfg.reward, decisions, seed)
    rng = random.Random(seed + 1)
    now_box = [world.contacts[0].at if world.contacts else datetime.now()]
    store = MemoryLearningStore()
    learner = BanditLearner(store, lambda _t: policy_for_learner, clock=lambda: now_box[0], seed=seed)
    realised = RealisedTone(policy)
    rewards = RewardMemo(world)
    learner.set_mode(TENANT, "live")
    tracks = {name: _Track(name) for name in chosen}
    logged: list[LoggedRow] = []
    every = max(1, decisions // _CURVE_POINTS)
    quiet_window = QuietHours()
    no_contact = 0
    planned = oracle_plan(world, policy, realised, rewards) if "oracle" in tracks else {}

    window = learning_window(cfg.reward)
    early = early_horizon(cfg.reward)
    # Rewards waiting for their horizon: (when, contact, 0 early / 1 window, pending, reward,
    # propensity, partial reward).
    due: list[tuple[datetime, int, int, _Pending, float, float, float | None]] = []

    for contact in world.contacts:
        now_box[0] = contact.at
        while due and due[0][0] <= contact.at:
            _, _, kind, ready, ready_reward, ready_p, partial = heapq.heappop(due)
            if kind == 0:
                assert partial is not None
                learner.learn_early(TENANT, cfg, ready.features, list(ready.arms), ready.chosen, partial)
            else:
                learner.learn(
                    TENANT,
                    cfg,
                    ready.features,
                    list(ready.arms),
                    ready.chosen,
                    ready_reward,
                    ready_p,
                    partial,
                )
        cache: dict[int, tuple[PolicyInput, PolicyResult, tuple[Arm, ...]]] = {}
        expected: dict[tuple[Arm, int], float] = {}
        tone: dict[str, float] | None = None

        for track in tracks.values():
            count = track.proactive_24h(contact.customer.index, contact.at)
            if count not in cache:
                inp = world.policy_input(contact, count)
                evaluated = policy.evaluate(inp)
                cache[count] = (
                    inp,
                    evaluated,
                    allowed_arms(evaluated, cfg.styles, learn_channel=cfg.learn_channel),
                )
            inp, result, arms = cache[count]
            if not arms:
                if track.name == chosen[0]:
                    no_contact += 1
                track.per_decision.append(0.0)
                continue
            if tone is None:
                tone = realised.of(contact, inp, result, cfg.styles)

            def value(
                arm: Arm,
                contact: Contact = contact,
                count: int = count,
                expected: dict[tuple[Arm, int], float] = expected,
                tone: dict[str, float] = tone,
            ) -> float:
                if (arm, count) not in expected:
                    expected[(arm, count)] = rewards.expected(contact, arm, count, tone)
                return expected[(arm, count)]

            arm, propensity, final, pending = _decide(
                track.name, value, arms, rng, learner, policy_for_learner, inp, result,
                planned.get(contact.index),
            )  # fmt: skip
            reward = world.observed_reward(contact, arm, count, tone)
            track.reward += reward
            track.expected += value(arm)
            track.per_decision.append(value(arm))
            track.differs_from_rules += arm != arms[0]
            track.violations += _violations(
                contact, final, result, count, policy.fatigue_cap, quiet_window, inp
            )
            if final.proactive and final.channel.primary is not None:
                track.proactive.setdefault(contact.customer.index, deque()).append(contact.at)
            if pending is not None:
                # Learned when the decision's reward window closes, as in production (close_due).
                partial = None
                if early is not None:
                    partial = world.partial_reward(contact, arm, early, count, tone)
                    heapq.heappush(
                        due, (contact.at + early, contact.index, 0, pending, reward, propensity, partial)
                    )
                heapq.heappush(
                    due, (contact.at + window, contact.index, 1, pending, reward, propensity, partial)
                )
            if track.name == log_strategy:
                from tactful.learn.features import context_features

                logged.append(
                    LoggedRow(
                        features=pending.features if pending is not None else context_features(inp),
                        arms=tuple(a.key for a in arms),
                        chosen=arm.key,
                        propensity=propensity,
                        reward=reward,
                        expected={a.key: value(a) for a in arms},
                    )
                )
        if (contact.index + 1) % every == 0 or contact.index + 1 == decisions:
            for track in tracks.values():
                track.curve.append(round(track.expected, 4))
            if progress is not None:
                progress(contact.index + 1)

    report = _report(
        spec, policy, cfg.explorer, decisions, seed, tracks, no_contact, time.perf_counter() - started
    )
    if "bandit" in tracks and "oracle" in tracks and spec.drift:
        report["drift_recovery"] = recovery_times(
            tracks["bandit"].per_decision, tracks["oracle"].per_decision, spec, decisions
        )
    if "bandit" in tracks:
        # Rewards still inside their window at the end were never learned from (as in production).
        report["bandit_rewards_learned"] = learner.learned(TENANT)
        # The explorer's final choice and the drift monitor's alarms (false alarms on a no-drift spec).
        explored = learner.exploration(TENANT)
        report["bandit_exploration"] = {
            k: v for k, v in explored.items() if k != "contexts_exploring_after_drift"
        }
    return report, logged


#: Decisions in the moving window that judges recovery after a drift.
RECOVERY_WINDOW = 500


def recovery_times(
    bandit: list[float], oracle: list[float], spec: PopulationSpec, decisions: int
) -> list[dict[str, Any]]:
    """Per drift: decisions after it until the bandit's moving expected reward (the last
    ``RECOVERY_WINDOW`` decisions, all after the drift) is within 5 % of the oracle's. ``None``: not
    within the run (or before the next drift). The window makes ``RECOVERY_WINDOW`` the least possible.

    ``back_to_level_after``: the same, but until the moving bandit/oracle ratio is within 5 % of what
    it was over the window before the drift (``level_before``): a bandit that never came within 5 % of
    the oracle can still be seen to recover from the drift itself."""
    starts = sorted({min(max(math.ceil(d.at * decisions), 0), decisions) for d in spec.drift})
    found: list[dict[str, Any]] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else decisions
        window = min(RECOVERY_WINDOW, max(end - start, 1))
        before_b = sum(bandit[max(start - window, 0) : start])
        before_o = sum(oracle[max(start - window, 0) : start])
        level = before_b / before_o if start > 0 and before_o > 0 else 1.0
        got = _recovered(bandit, oracle, start, end, window, 1.0)
        back = _recovered(bandit, oracle, start, end, window, level)
        found.append(
            {
                "at_decision": start,
                "recovered_after": got,
                "window": window,
                "level_before": round(level, 4),
                "back_to_level_after": back,
            }
        )
    return found


def _recovered(
    bandit: list[float], oracle: list[float], start: int, end: int, window: int, level: float
) -> int | None:
    """Decisions after ``start`` until the moving bandit sum is within 5 % of ``level`` × oracle's."""
    b = sum(bandit[start : start + window])
    o = sum(oracle[start : start + window]) * level
    for i in range(start + window, end + 1):
        if b >= 0.95 * o if o >= 0 else b >= 1.05 * o:
            return i - start
        if i < end:
            b += bandit[i] - bandit[i - window]
            o += (oracle[i] - oracle[i - window]) * level
    return None


def _with_learning(policy: CompiledPolicy, cfg: Any) -> CompiledPolicy:
    """A copy of the policy whose learning section differs (the simulator's ``--explorer``)."""
    from tactful.policy.loader import load_policy

    data = policy.document.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    data["learning"] = cfg.model_dump(mode="json")
    import yaml

    return load_policy(
        yaml.safe_dump(data), source_name=policy.source_name, version_label=policy.version_label
    )


def _decide(
    name: str,
    value: Callable[[Arm], float],
    arms: tuple[Arm, ...],
    rng: random.Random,
    learner: BanditLearner,
    policy: CompiledPolicy,
    inp: PolicyInput,
    result: PolicyResult,
    planned: Arm | None = None,
) -> tuple[Arm, float, PolicyResult, _Pending | None]:
    if name == "rules":
        return arms[0], 1.0, result, None
    if name == "random":
        arm = arms[rng.randrange(len(arms))]
        return arm, 1.0 / len(arms), moved_to(result, arm.channel, inp.message.channel), None
    if name in ("oracle", "greedy"):
        # The oracle plays its plan (foresight.py): its own proactive counts reach the same arms.
        best = max(arms, key=value) if name == "greedy" else planned
        if best is None or best not in arms:
            raise RuntimeError(f"the oracle's plan chose {best} outside the allowed arms")
        arm = best
        return arm, 1.0, moved_to(result, arm.channel, inp.message.channel), None
    choice = learner.choose(policy, inp, result)
    pending = choice.context
    assert isinstance(pending, _Pending) and choice.trace is not None
    return Arm.parse(choice.trace.arm), choice.trace.propensity, choice.result, pending


def _violations(
    contact: Contact,
    final: PolicyResult,
    rules: PolicyResult,
    proactive_24h: int,
    cap: int,
    quiet: QuietHours,
    inp: PolicyInput,
) -> int:
    """An independent check of the hard constraints on what was actually chosen."""
    channel = final.channel.primary
    if channel is None:
        return 0
    prefs = contact.customer.preferences
    count = 0
    allowed = {rules.channel.primary, *rules.channel.fallbacks}
    count += channel not in allowed
    count += prefs.do_not_contact
    count += channel in prefs.opted_out
    initiating = not continues_conversation(contact.inbound, channel)
    if initiating and channel in INTRUSIVE_CHANNELS:
        count += in_quiet_window(resolve_clock(inp).local.time(), quiet)
    if initiating and proactive_24h >= cap:
        count += 1
    return int(count)


def _report(
    spec: PopulationSpec,
    policy: CompiledPolicy,
    explorer: str,
    decisions: int,
    seed: int,
    tracks: dict[str, _Track],
    no_contact: int,
    seconds: float,
) -> dict[str, Any]:
    oracle = tracks.get("oracle")
    rules = tracks.get("rules")
    bandit = tracks.get("bandit")
    out: dict[str, Any] = {
        "spec": spec.name,
        "decisions": decisions,
        "seed": seed,
        "policy_version": policy.version_label,
        "explorer": explorer,
        "no_contact_decisions": no_contact,
        "policy_violations": sum(t.violations for t in tracks.values()),
        "strategies": {
            t.name: {
                "cumulative_reward": round(t.reward, 3),
                "cumulative_expected_reward": round(t.expected, 3),
                "mean_reward": round(t.reward / decisions, 4) if decisions else 0.0,
                "policy_violations": t.violations,
                "share_differs_from_rules": round(t.differs_from_rules / decisions, 4) if decisions else 0.0,
            }
            for t in tracks.values()
        },
        "seconds": round(seconds, 2),
    }
    if oracle is not None:
        out["regret_vs_oracle"] = {t.name: round(oracle.expected - t.expected, 3) for t in tracks.values()}
        out["regret_curve"] = {
            t.name: [round(o - c, 3) for o, c in zip(oracle.curve, t.curve, strict=True)]
            for t in tracks.values()
        }
    if bandit is not None and oracle is not None and oracle.expected > 0:
        out["bandit_share_of_oracle"] = round(bandit.expected / oracle.expected, 4)
    if bandit is not None and rules is not None and rules.expected > 0:
        out["bandit_gain_over_rules"] = round(bandit.expected / rules.expected - 1.0, 4)
    return out


def write_log(rows: list[LoggedRow], out: TextIO) -> None:
    for row in rows:
        out.write(json.dumps(row.__dict__, sort_keys=True) + "\n")


def plot_regret(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[float]] = report.get("regret_curve", {})
    decisions = int(report["decisions"])
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        if name == "oracle" or not curve:
            continue
        xs = [decisions * (i + 1) / len(curve) for i in range(len(curve))]
        ax.plot(xs, curve, label=name)
    ax.set_xlabel("decisions")
    ax.set_ylabel("cumulative regret vs oracle (expected reward)")
    ax.set_title(f"{report['spec']}: regret vs oracle ({report['explorer']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
