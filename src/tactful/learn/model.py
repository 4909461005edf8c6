"""One tenant's Vowpal Wabbit contextual bandit (``--cb_explore_adf``), thread-safe.

VW returns a probability per arm (the explorer's distribution); the arm is drawn here with an injected
``random.Random`` so runs are reproducible. Costs are negated rewards.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import vowpalwabbit  # type: ignore[import-untyped]

from tactful.learn.arms import Arm
from tactful.learn.features import arm_line, shared_line

#: ``-q SA``: context × arm; ``-q UA``: (context × intent) × arm, for preferences by situation.
#: ``--power_t 0.25``: the learning rate decays more slowly than VW's default 0.5, so the model keeps
#: adapting when preferences drift (telco spec: 76 % → 94 % of the oracle); a constant rate
#: (``--power_t 0``) learnt worse. Measured in the simulator, see docs/learning.md.
BASE_ARGS = "--cb_explore_adf -q SA -q UA --quiet --power_t 0.25"


def explorer_args(explorer: str, epsilon: float) -> str:
    if explorer == "squarecb":
        return "--squarecb --gamma_scale 100"
    return f"--epsilon {epsilon}"


@dataclass(frozen=True, slots=True)
class Prediction:
    probabilities: tuple[float, ...]  # per arm, in the order given; sums to 1
    chosen: int
    greedy: int  # the arm with the highest probability: what it would choose without exploring


class BanditModel:
    def __init__(self, args: str, *, seed: int = 0, model_bytes: bytes | None = None) -> None:
        self.args = args
        self.learned = 0
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        full = f"{BASE_ARGS} {args} --random_seed {seed}"
        if model_bytes is None:
            self._ws = vowpalwabbit.Workspace(full)
        else:
            self._ws = _load(model_bytes)

    def predict(self, features: Mapping[str, str], arms: Sequence[Arm]) -> Prediction:
        if not arms:
            raise ValueError("no arms to choose from")
        example = [shared_line(features), *(arm_line(a) for a in arms)]
        with self._lock:
            raw = self._ws.predict(example)
            draw = self._rng.random()
        probs = _normalised(raw, len(arms))
        greedy = max(range(len(probs)), key=lambda i: probs[i])
        return Prediction(probs, _draw(probs, draw), greedy)

    def learn(
        self, features: Mapping[str, str], arms: Sequence[Arm], chosen: int, reward: float, probability: float
    ) -> None:
        if not 0 <= chosen < len(arms):
            raise ValueError(f"chosen index {chosen} outside {len(arms)} arms")
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {probability}")
        lines = [shared_line(features)]
        for index, arm in enumerate(arms):
            label = f"0:{-reward:.6g}:{probability:.6g} " if index == chosen else ""
            lines.append(label + arm_line(arm))
        with self._lock:
            self._ws.learn(lines)
            self.learned += 1

    def to_bytes(self) -> bytes:
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.vw")
            self._ws.save(path)
            with open(path, "rb") as handle:
                return handle.read()

    def close(self) -> None:
        with self._lock:
            self._ws.finish()


def _load(model_bytes: bytes) -> vowpalwabbit.Workspace:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.vw")
        with open(path, "wb") as handle:
            handle.write(model_bytes)
        # The model file holds the reductions, interactions and the random seed it was trained
        # with: repeating any of them with another value is an error ("Disagreeing option values
        # for 'random_seed'" when an evaluator loaded a learner's snapshot with its own seed).
        return vowpalwabbit.Workspace(f"-i {path} --quiet")


def _normalised(raw: object, n: int) -> tuple[float, ...]:
    values = [float(v) for v in raw] if isinstance(raw, list) else []
    if len(values) != n or sum(values) <= 0:
        return tuple(1.0 / n for _ in range(n))
    total = sum(values)
    probs = [max(v / total, 0.0) for v in values]
    # Floor at a tiny positive value: a zero propensity would make the logged choice unusable for OPE.
    floor = 1e-6
    probs = [max(p, floor) for p in probs]
    total = sum(probs)
    return tuple(p / total for p in probs)


def _draw(probs: Sequence[float], u: float) -> int:
    acc = 0.0
    for index, p in enumerate(probs):
        acc += p
        if u < acc:
            return index
    return len(probs) - 1
