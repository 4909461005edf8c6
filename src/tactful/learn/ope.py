"""Off-policy evaluation: a candidate's value estimated from another policy's logged decisions.

Estimators (each with a normal-approximation 95 % interval over the per-decision terms):

* IPS   — mean of w·r, with w = π(a|x) / p(a|x) for the logged arm a;
* SNIPS — Σ w·r / Σ w (interval by the delta method);
* DR    — mean of Σ_b π(b|x)·r̂(x, b) + w·(r − r̂(x, a)), where r̂ is a VW regression of the reward on
  context × arm fitted with 2-fold cross-fitting (each half is scored by a model trained on the other).

They are unbiased only where the logging policy gave every arm the candidate picks a non-zero
propensity: shadow-mode logs (the deterministic rules, p = 1) can only evaluate the rules themselves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import vowpalwabbit  # type: ignore[import-untyped]

from tactful.errors import InputRejected
from tactful.learn.arms import Arm
from tactful.learn.features import arm_line, shared_line
from tactful.learn.model import BanditModel
from tactful.learn.store import LoggedChoice

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    features: dict[str, str]
    arms: tuple[str, ...]
    chosen: str
    propensity: float
    reward: float

    @classmethod
    def of(cls, choice: LoggedChoice) -> LoggedDecision:
        if choice.reward is None:
            raise ValueError("only closed choices (with a reward) can be evaluated")
        return cls(choice.features, choice.arms, choice.chosen, choice.propensity, choice.reward)


class Candidate(Protocol):
    name: str

    def probabilities(self, features: Mapping[str, str], arms: Sequence[Arm]) -> list[float]: ...


class RulesCandidate:
    """The policy's own choice: the first allowed arm (the rules' channel, ``as_policy`` tone)."""

    name = "rules"

    def probabilities(self, features: Mapping[str, str], arms: Sequence[Arm]) -> list[float]:
        return [1.0 if i == 0 else 0.0 for i in range(len(arms))]


class UniformCandidate:
    name = "uniform"

    def probabilities(self, features: Mapping[str, str], arms: Sequence[Arm]) -> list[float]:
        return [1.0 / len(arms)] * len(arms)


class ModelCandidate:
    """A saved bandit model; ``greedy`` evaluates it without exploration (its deployed argmax)."""

    def __init__(self, model: BanditModel, name: str, *, greedy: bool = True) -> None:
        self.model = model
        self.name = name
        self.greedy = greedy

    def probabilities(self, features: Mapping[str, str], arms: Sequence[Arm]) -> list[float]:
        prediction = self.model.predict(features, arms)
        if self.greedy:
            return [1.0 if i == prediction.greedy else 0.0 for i in range(len(arms))]
        return list(prediction.probabilities)


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 5), "ci95": [round(self.low, 5), round(self.high, 5)]}


@dataclass(frozen=True, slots=True)
class OpeReport:
    candidate: str
    n: int
    logging: Estimate
    ips: Estimate
    snips: Estimate
    dr: Estimate
    support: float  # share of decisions where the candidate's arm had a logged propensity > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "decisions": self.n,
            "logging_policy": self.logging.as_dict(),
            "ips": self.ips.as_dict(),
            "snips": self.snips.as_dict(),
            "dr": self.dr.as_dict(),
            "candidate_agrees_with_log": round(self.support, 4),
        }


def _mean_ci(terms: Sequence[float]) -> Estimate:
    n = len(terms)
    mean = sum(terms) / n
    var = sum((t - mean) ** 2 for t in terms) / (n - 1) if n > 1 else 0.0
    half = Z95 * math.sqrt(var / n)
    return Estimate(mean, mean - half, mean + half)


def evaluate(logs: Sequence[LoggedDecision], candidate: Candidate, *, seed: int = 0) -> OpeReport:
    if len(logs) < 2:
        raise InputRejected("off-policy evaluation needs at least 2 logged decisions", code="too_few_logs")
    rewards = [d.reward for d in logs]
    parsed = [[Arm.parse(k) for k in d.arms] for d in logs]
    pis = [candidate.probabilities(d.features, arms) for d, arms in zip(logs, parsed, strict=True)]
    chosen = [d.arms.index(d.chosen) for d in logs]
    weights = [pi[c] / d.propensity for pi, c, d in zip(pis, chosen, logs, strict=True)]

    ips = _mean_ci([w * r for w, r in zip(weights, rewards, strict=True)])
    total_w = sum(weights)
    if total_w > 0:
        snips_value = sum(w * r for w, r in zip(weights, rewards, strict=True)) / total_w
        mean_w = total_w / len(logs)
        dev = [w * (r - snips_value) / mean_w for w, r in zip(weights, rewards, strict=True)]
        spread = _mean_ci(dev)
        half = (spread.high - spread.low) / 2
        snips = Estimate(snips_value, snips_value - half, snips_value + half)
    else:
        snips = Estimate(float("nan"), float("nan"), float("nan"))

    predicted = _cross_fitted_rewards(logs, parsed, seed)
    dr_terms = []
    for i, d in enumerate(logs):
        direct = sum(p * predicted[i][j] for j, p in enumerate(pis[i]))
        dr_terms.append(direct + weights[i] * (d.reward - predicted[i][chosen[i]]))
    support = sum(1 for pi, c in zip(pis, chosen, strict=True) if pi[c] > 0) / len(logs)
    return OpeReport(candidate.name, len(logs), _mean_ci(rewards), ips, snips, _mean_ci(dr_terms), support)


def _regression_line(features: Mapping[str, str], arm: Arm, label: str = "") -> str:
    return f"{label} {shared_line(features).removeprefix('shared')} {arm_line(arm)}"


def _cross_fitted_rewards(
    logs: Sequence[LoggedDecision], parsed: Sequence[Sequence[Arm]], seed: int
) -> list[list[float]]:
    """r̂(x, b) for every logged context and allowed arm; half A scored by a model fitted on half B."""
    folds = [[i for i in range(len(logs)) if i % 2 == k] for k in (0, 1)]
    out: list[list[float]] = [[] for _ in logs]
    for k in (0, 1):
        train, score = folds[1 - k], folds[k]
        ws = vowpalwabbit.Workspace(f"--quiet -q SA -q UA --random_seed {seed} --power_t 0.3")
        try:
            for _ in range(2):  # two passes over the training half
                for i in train:
                    d = logs[i]
                    ws.learn(_regression_line(d.features, Arm.parse(d.chosen), f"{d.reward:.6g}"))
            for i in score:
                out[i] = [float(ws.predict(_regression_line(logs[i].features, arm))) for arm in parsed[i]]
        finally:
            ws.finish()
    return out


# -- reading logs -------------------------------------------------------------------------------------


def read_jsonl(path: str | Path) -> list[LoggedDecision]:
    """One logged decision per line: ``features``, ``arms``, ``chosen``, ``propensity``, ``reward``
    (``tactful simulate --log-out`` writes this; ``tactful learn export`` too)."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputRejected(f"cannot read logs {file}: {exc}", code="logs_unreadable") from None
    return list(_parse(lines, str(file)))


def _parse(lines: Iterable[str], source: str) -> Iterable[LoggedDecision]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            decision = LoggedDecision(
                features={str(k): str(v) for k, v in dict(row["features"]).items()},
                arms=tuple(str(a) for a in row["arms"]),
                chosen=str(row["chosen"]),
                propensity=float(row["propensity"]),
                reward=float(row["reward"]),
            )
            if decision.chosen not in decision.arms:
                raise ValueError(f"chosen arm {decision.chosen!r} is not among the arms")
            if not 0.0 < decision.propensity <= 1.0 or not math.isfinite(decision.reward):
                raise ValueError("propensity must be in (0, 1] and reward finite")
            for key in decision.arms:
                Arm.parse(key)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputRejected(
                f"{source}:{number}: bad logged decision: {exc}", code="invalid_logs"
            ) from None
        yield decision
