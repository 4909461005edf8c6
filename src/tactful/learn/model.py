"""One tenant's Vowpal Wabbit contextual bandit, thread-safe and serialisable.

Two explorers:

* ``squarecb`` (the default): VW learns the reward of every arm (``--cb_adf``, costs are negated
  rewards); the arm is drawn from a SquareCB distribution whose ``gamma`` AdaHedge tunes online
  (``tactful.learn.explore``), and a drift monitor per context and customer group
  (``tactful.learn.drift``) restarts the affected part of the model when its rewards change and gives
  it its own explorer (``after_drift``), restarted, so exploration rises there.
* ``epsilon``: VW's own ``--cb_explore_adf --epsilon``.

Models saved before the tuned explorer existed (``--cb_explore_adf --squarecb``) still load and use
VW's probabilities. The arm is always drawn here with an injected ``random.Random`` so runs are
reproducible. VW is called through its native binding (``pylibvw``): the ``vowpalwabbit.Workspace``
wrappers build a Python object per parsed line, which cost four times the prediction itself.

``to_bytes`` is the VW model file, preceded by a one-line JSON header with the explorer's and the
drift monitor's state when there is any; ``BanditModel(args, model_bytes=...)`` reads both forms.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pylibvw  # type: ignore[import-not-found]
import vowpalwabbit  # type: ignore[import-untyped]

from tactful.learn.arms import Arm
from tactful.learn.drift import ContextState, DriftMonitor, context_key, group_of, level_key
from tactful.learn.explore import TunedSquareCB
from tactful.learn.fatigue import COUNT_FEATURE, FatigueCost
from tactful.learn.features import arms_text, shared_line

#: ``-q SA``: context × arm; ``-q UA``: (context × intent) × arm, for preferences by situation;
#: ``-q KA``: (whole context, and whole context × hour bucket) × arm, for who-and-when preferences.
#: ``--coin``: coin-betting updates, which have no learning rate to choose. Before issue 16 the rate
#: schedule was ``--power_t 0.25``, chosen on the shipped specs; VW's default (0.5) learnt so slowly
#: that AdaHedge preferred the most exploring gamma (bank, 5,000 decisions: 0.65 of the oracle;
#: ``--power_t 0.25`` 0.78, ``--coin`` 0.73; telco 0.55 / 0.56 with 0.25 / coin; a generated
#: spec 0.75 / 0.80). Drift is handled by the drift monitor, not by the rate.
BASE_ARGS = "-q SA -q UA -q KA --quiet --coin"
_HEADER = b"TACTFUL-BANDIT/1 "
#: Contexts whose scores are kept between updates (a bound on memory: the cache is emptied when full).
_PREDICTED_MAX = 4096


def explorer_args(explorer: str, epsilon: float) -> str:
    if explorer == "squarecb":
        return "--cb_adf"
    return f"--cb_explore_adf --epsilon {epsilon}"


@dataclass(frozen=True, slots=True)
class Prediction:
    probabilities: tuple[float, ...]  # per arm, in the order given; sums to 1
    chosen: int
    greedy: int  # the arm it would choose without exploring
    features: Mapping[str, str] | None = None  # the features as learned from (with a context epoch)


class BanditModel:
    def __init__(
        self, args: str, *, seed: int = 0, model_bytes: bytes | None = None, early: bool = False
    ) -> None:
        self.args = args
        self.learned = 0  # since the last snapshot (``BanditLearner.snapshot`` sets it back to 0)
        self._lock = threading.Lock()
        #: VW's scores for a (shared line, arms' lines) pair since the last update; see ``_run``.
        self._predicted: dict[tuple[str, str], tuple[float, ...]] = {}
        self._rng = random.Random(seed)
        state: dict[str, Any] = {}
        if model_bytes is None:
            reduction = "" if "--cb_adf" in args or "--cb_explore_adf" in args else "--cb_explore_adf"
            self._ws = vowpalwabbit.Workspace(f"{BASE_ARGS} {reduction} {args} --random_seed {seed}")
        else:
            state, model_bytes = _split(model_bytes)
            self._ws = _load(model_bytes[state.get("early_bytes", 0) :])
        self._scores = self._ws.get_prediction_type() == vowpalwabbit.PredictionType.ACTION_SCORES
        #: The early estimate (``learning.reward.early``): a second regressor of the same form that
        #: learns each decision's partial reward (the outcomes in by the early horizon) as soon as
        #: that horizon passes; the main one then learns only the rest (the window's reward minus
        #: that partial one). Their sum estimates the window's reward: E[partial] + E[rest].
        self._early: Any = None
        self._early_predicted: dict[tuple[str, str], tuple[float, ...]] = {}
        if "early_bytes" in state:  # saved with an early estimate: its model file comes first
            self._early = _load(model_bytes[: state["early_bytes"]]) if model_bytes is not None else None
        elif early and self._scores:
            self._early = vowpalwabbit.Workspace(f"{BASE_ARGS} --cb_adf --random_seed {seed}")
        self.explorer = TunedSquareCB.restore(state["explorer"]) if "explorer" in state else TunedSquareCB()
        self.drift = DriftMonitor.restore(state.get("drift", {}))
        #: A context whose rewards drifted explores afresh: its own explorer, restarted at the alarm
        #: with AdaHedge's uniform weights over the gamma scales (the most exploring among them), so
        #: exploration rises there at once and falls again as that context's evidence comes in.
        self.after_drift = {k: TunedSquareCB.restore(v) for k, v in state.get("after_drift", {}).items()}
        #: What initiating a contact costs the customer's later rewards (``tactful.learn.fatigue``).
        self.fatigue = FatigueCost.restore(state.get("fatigue", {}))
        #: SquareCB's clock: every reward this model has learned, over its snapshots. (``learned``
        #: restarts at each snapshot, and the clock read it until issue 16's learn16 fix: γ fell back
        #: to its first value every 500 rewards.) Snapshots without it restart it at 0.
        self.clock = int(state.get("clock", 0))

    # -- deciding and learning --------------------------------------------------------------------

    def message(self, customer: str, at: datetime) -> None:
        """A customer's message reached the learner (how many later messages a contact touches)."""
        with self._lock:
            self.fatigue.message(customer, at)

    def predict(
        self, features: Mapping[str, str], arms: Sequence[Arm], proactive: Sequence[bool] = ()
    ) -> Prediction:
        """``proactive``: per arm, whether playing it initiates a contact (charged its later cost)."""
        if not arms:
            raise ValueError("no arms to choose from")
        # Built once per call (the epoch tags added below are not part of it): the drift levels and
        # VW's K namespace both read it.
        ckey = context_key(features)
        with self._lock:
            if not self._scores:
                raw = self._run(features, arms, None, ckey)
                probs = _normalised(raw, len(arms))
                greedy = max(range(len(probs)), key=lambda i: probs[i])
                return Prediction(probs, _draw(probs, self._rng.random()), greedy, features)
            levels = self._levels(features, ckey)
            explorer = self.explorer
            if any(st.epoch for _, _, st in levels):  # a drifted context: its epoch tags and explorer
                features = {**features, **{name: _epoch_tag(key, st) for name, key, st in levels if st.epoch}}
                explorer = next(
                    (self.after_drift[key] for _, key, st in levels if st.epoch and key in self.after_drift),
                    explorer,
                )
            rewards = self._rewards(features, arms, ckey)
            if any(proactive):
                cost = self.fatigue.cost()
                if cost > 0.0:
                    rewards = [r - cost if p else r for r, p in zip(rewards, proactive, strict=True)]
            probs = _normalised(explorer.distribution(rewards, self._clock(levels)), len(arms))
            draw = self._rng.random()
        # Ties (an untrained model) go to the first arm, the rules' own.
        greedy = rewards.index(max(rewards))
        return Prediction(probs, _draw(probs, draw), greedy, features)

    def learn_early(
        self, features: Mapping[str, str], arms: Sequence[Arm], chosen: int, partial: float
    ) -> None:
        """The decision's partial reward at the early horizon (a no-op without the early estimate)."""
        if self._early is None:
            return
        if not 0 <= chosen < len(arms):
            raise ValueError(f"chosen index {chosen} outside {len(arms)} arms")
        ckey = context_key(features)
        with self._lock:
            self._run(features, arms, (chosen, partial, 1.0), ckey, early=True)
            self.clock += 1

    def learn(
        self,
        features: Mapping[str, str],
        arms: Sequence[Arm],
        chosen: int,
        reward: float,
        probability: float,
        partial: float | None = None,
    ) -> None:
        """``partial``: the reward the early estimate learned for this decision (None: it learned
        none; the main regressor then learns the reward minus the early estimate's current value
        for the chosen arm, so the sum stays an estimate of the whole reward)."""
        if not 0 <= chosen < len(arms):
            raise ValueError(f"chosen index {chosen} outside {len(arms)} arms")
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {probability}")
        ckey = context_key(features)
        counted = partial is not None and self._early is not None  # in the clock at its early update
        with self._lock:
            early: list[float] | None = None
            target = reward
            shared = shared_line(features, ckey)  # built once for both regressors
            if self._early is not None:
                # The main regressor learns the rest: the reward minus the partial reward the early
                # estimate learned (or, if it learned none, minus its current estimate of it).
                early = self._run(features, arms, None, ckey, early=True, shared=shared)
                if partial is None and len(early) == len(arms):
                    partial = -early[chosen]
                target = reward - (partial or 0.0)
            # The regressor learns the reward unweighted (probability 1 in VW's label): SquareCB needs
            # an online square-loss regression on what was observed (Foster & Rakhlin 2020), and VW's
            # default ``mtr`` weights each update by 1 / p, which with SquareCB's small probabilities
            # let one noisy reward of a rarely explored arm swamp its estimate (a generated spec stuck
            # at 0.56 of the oracle; 0.76 unweighted). The propensity still scores the explorer.
            before = self._run(features, arms, (chosen, target, 1.0), ckey, shared=shared)
            if early is not None and len(early) == len(before):
                before = [a + b for a, b in zip(before, early, strict=True)]  # what was predicted
            self.learned += 1
            if not counted:
                self.clock += 1
            count = features.get(COUNT_FEATURE)
            if count is not None and count.isdigit():
                self.fatigue.observe(int(count), reward)
            if not self._scores or len(before) != len(arms):
                return
            rewards = [-c for c in before]
            levels = self._levels(features, ckey)
            clock = self._clock(levels)
            self.explorer.score(rewards, clock, chosen, reward, probability)
            for name, key, st in levels:
                if features.get(name) != (_epoch_tag(key, st) if st.epoch else None):
                    continue  # a decision from before this level's reset says nothing new about it
                if key in self.after_drift:
                    self.after_drift[key].score(rewards, clock, chosen, reward, probability)
                if self.drift.observe(key, reward - rewards[chosen]):
                    self.after_drift[key] = TunedSquareCB()
            # The played channel's own reward level in the customer group: the regressor follows a
            # played arm's fall at once (no residual), so the fall itself is what shows a drift.
            # A decision from the epoch before a pending reset still feeds the level's confirmation.
            _, group, gstate = levels[1]
            tag = features.get("epg")
            if tag == (_epoch_tag(group, gstate) if gstate.epoch else None) or (
                gstate.provisional
                and tag == (_epoch_tag(group, gstate, gstate.undo_epoch) if gstate.undo_epoch else None)
            ):
                event = self.drift.observe_level(
                    key := level_key(group, arms[chosen].channel.value),
                    f"{key}#{zlib.crc32(ckey.encode()):x}|{arms[chosen].style}|{features.get('hr')}",
                    reward,
                )
                if event == "alarm":
                    # A second channel's alarm while the first is unconfirmed: undo goes back past both.
                    undo = (gstate.undo_epoch, gstate.undo_learned) if gstate.provisional else None
                    gstate.reset()
                    if undo is not None:
                        gstate.undo_epoch, gstate.undo_learned = undo
                    gstate.provisional = True
                    self.after_drift[group] = TunedSquareCB()
                elif event == "confirmed":
                    gstate.provisional = False
                elif event == "refuted" and gstate.provisional:  # the fall did not persist:
                    gstate.undo()  # back to the group's old weights
                    if not gstate.epoch:
                        self.after_drift.pop(group, None)

    def _levels(self, features: Mapping[str, str], ckey: str) -> list[tuple[str, str, ContextState]]:
        """The monitored parts of the model a decision belongs to: its context (``ckey``, the
        features' ``context_key``), and its customer group (the context without the situation);
        each with the feature naming its epoch."""
        keys = (("ep", ckey), ("epg", group_of(ckey)))
        return [(name, key, self.drift.state_of(key)) for name, key in keys]

    def _clock(self, levels: Sequence[tuple[str, str, ContextState]]) -> int:
        """SquareCB's ``n``: every reward learned, as VW counts; since the newest reset where one was."""
        return min((st.learned for _, _, st in levels if st.epoch), default=self.clock)

    def _rewards(self, features: Mapping[str, str], arms: Sequence[Arm], ckey: str) -> list[float]:
        """Each arm's estimated reward: the main regressor's, plus the early estimate's if any."""
        if self._early is None:
            return [-c for c in self._run(features, arms, None, ckey)]
        shared = shared_line(features, ckey)  # built once for both regressors
        costs = self._run(features, arms, None, ckey, shared=shared)
        early = self._run(features, arms, None, ckey, early=True, shared=shared)
        if len(early) != len(costs):
            return [-c for c in costs]
        return [-(a + b) for a, b in zip(costs, early, strict=True)]

    def _run(
        self,
        features: Mapping[str, str],
        arms: Sequence[Arm],
        label: tuple[int, float, float] | None,
        ckey: str,
        *,
        early: bool = False,
        shared: str | None = None,
    ) -> list[float]:
        """One VW call; the scores (costs, or probabilities for VW's explorers) before any update.
        ``early``: the early estimate's regressor; ``shared``: the shared line, if already built."""
        ws = self._early if early else self._ws
        predicted = self._early_predicted if early else self._predicted
        if shared is None:
            shared = shared_line(features, ckey)
        cacheable = label is None and self._scores  # (VW's own explorers: left as they were)
        if label is None:
            body = arms_text(arms)
            if cacheable:
                # Between two updates the weights do not change, so the same examples score the
                # same: a context seen again before the next reward is learned is not sent to VW,
                # whose prediction is memory-bound (its weight table is mostly out of cache by the
                # time a decision reaches the learner). Any update empties the cache. Keyed by the
                # examples' text (the arms' lines say which arms, in order; no Arm is hashed).
                key = (shared, body)
                cached = predicted.get(key)
                if cached is not None:
                    return list(cached)
            text = f"{shared}\n{body}"
        else:
            predicted.clear()
            lines = [shared]
            for index, arm in enumerate(arms):
                if index == label[0]:
                    lines.append(f"0:{-label[1]:.6g}:{label[2]:.6g} {arm.line}")
                else:
                    lines.append(arm.line)
            text = "\n".join(lines)
        examples = pylibvw.vw._parse(ws, text)
        try:
            if label is None:
                pylibvw.vw.predict_multi(ws, examples)
            else:
                pylibvw.vw.learn_multi(ws, examples)
            # In action order: predicted costs (--cb_adf) or probabilities (VW's explorers).
            scores = [float(x) for x in examples[0].get_action_scores()]
            if cacheable:
                if len(predicted) >= _PREDICTED_MAX:
                    predicted.clear()
                predicted[key] = tuple(scores)
            return scores
        finally:
            pylibvw.vw._finish_example_multi_ex(ws, examples)

    # -- state ------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the explorer has chosen and what the drift monitor has seen (the learner's status)."""
        with self._lock:
            if not self._scores:
                return {"explorer": f"vw {self.args}".strip()}
            return {
                **self.explorer.status(),
                **self.drift.status(),
                **self.fatigue.status(),
                "contexts_exploring_after_drift": {
                    k: v.status()["gamma_scale"] for k, v in sorted(self.after_drift.items())[:20]
                },
            }

    def to_bytes(self) -> bytes:
        with self._lock:
            body = _saved(self._ws)
            if not self._scores:
                return body
            state: dict[str, Any] = {}
            if self._early is not None:
                early = _saved(self._early)
                state["early_bytes"] = len(early)
                body = early + body
            state |= {
                "explorer": self.explorer.state(),
                "drift": self.drift.state(),
                "after_drift": {k: v.state() for k, v in self.after_drift.items()},
                "fatigue": self.fatigue.state(),
                "clock": self.clock,
            }
            return _HEADER + json.dumps(state, separators=(",", ":")).encode() + b"\n" + body

    def close(self) -> None:
        with self._lock:
            self._ws.finish()
            if self._early is not None:
                self._early.finish()


def _epoch_tag(key: str, state: ContextState, epoch: int | None = None) -> str:
    return f"{zlib.crc32(key.encode()):x}_{state.epoch if epoch is None else epoch}"


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(_HEADER):
        return {}, data
    line, _, body = data.partition(b"\n")
    state: dict[str, Any] = json.loads(line[len(_HEADER) :])
    return state, body


def _saved(ws: vowpalwabbit.Workspace) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.vw")
        ws.save(path)
        with open(path, "rb") as handle:
            return handle.read()


def _load(model_bytes: bytes) -> vowpalwabbit.Workspace:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.vw")
        with open(path, "wb") as handle:
            handle.write(model_bytes)
        # The model file holds the reductions, interactions and the random seed it was trained
        # with: repeating any of them with another value is an error ("Disagreeing option values
        # for 'random_seed'" when an evaluator loaded a learner's snapshot with its own seed).
        return vowpalwabbit.Workspace(f"-i {path} --quiet")


def _normalised(raw: Sequence[float], n: int) -> tuple[float, ...]:
    values = [float(v) for v in raw]
    total = sum(values)
    if len(values) != n or total <= 0:
        return tuple(1.0 / n for _ in range(n))
    # Floor at a tiny positive value: a zero propensity would make the logged choice unusable for OPE.
    # (One ``max`` for both bounds: ``max(max(x, 0), floor)`` is ``max(x, floor)`` as the floor is > 0.)
    floor = 1e-6
    probs = [max(v / total, floor) for v in values]
    total = sum(probs)
    return tuple([p / total for p in probs])


def _draw(probs: Sequence[float], u: float) -> int:
    acc = 0.0
    for index, p in enumerate(probs):
        acc += p
        if u < acc:
            return index
    return len(probs) - 1
