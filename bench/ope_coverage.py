"""How often each OPE estimator's 95 % interval holds the candidate's true value, over many simulated
logs (uniform-random logging, as ``tactful simulate --log-strategy random`` writes them).

Each log: a spec (the shipped ones and generated ones in turn) simulated with its own seed; the
candidates are the rules (the first allowed arm) and a fixed "e-mail, warmer first" policy. The true
value is the mean over the logged contexts of the candidate's expected reward (the simulator knows
it), the estimand the intervals are for.

    nice python bench/ope_coverage.py --logs 100 --decisions 1000
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from tactful.config import default_policy_file
from tactful.learn.arms import Arm
from tactful.learn.ope import Candidate, LoggedDecision, RulesCandidate, evaluate
from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.run import LoggedRow, simulate
from tactful.learn.simulator.spec import PopulationSpec, load_spec
from tactful.policy.loader import load_policy_file

ROOT = Path(__file__).resolve().parents[1]


class EmailWarmerFirst:
    name = "email-warmer-first"

    def probabilities(self, features: Mapping[str, str], arms: Sequence[Arm]) -> list[float]:
        ranked = sorted(
            range(len(arms)), key=lambda i: (arms[i].channel.value != "email", arms[i].style != "warmer", i)
        )
        return [1.0 if i == ranked[0] else 0.0 for i in range(len(arms))]


def _truth(rows: Sequence[LoggedRow], candidate: Candidate) -> float:
    total = 0.0
    for row in rows:
        arms = [Arm.parse(k) for k in row.arms]
        pi = candidate.probabilities(row.features, arms)
        total += sum(p * row.expected[a.key] for p, a in zip(pi, arms, strict=True))
    return total / len(rows)


def coverage(logs: int, decisions: int) -> dict[str, dict[str, float]]:
    policy = load_policy_file(default_policy_file())
    shipped = [load_spec(p) for p in sorted((ROOT / "examples/populations").glob("*.yaml"))]
    candidates: list[Candidate] = [RulesCandidate(), EmailWarmerFirst()]
    hits = {c.name: {"ips": 0, "snips": 0, "dr": 0} for c in candidates}
    width = {c.name: {"ips": 0.0, "snips": 0.0, "dr": 0.0} for c in candidates}
    for n in range(logs):
        spec: PopulationSpec = shipped[n % len(shipped)] if n % 2 == 0 else random_spec(2000 + n)
        _, rows = simulate(
            spec, policy, decisions=decisions, seed=500 + n, strategies=["random"], log_strategy="random"
        )
        logged = [LoggedDecision(r.features, r.arms, r.chosen, r.propensity, r.reward) for r in rows]
        for candidate in candidates:
            truth = _truth(rows, candidate)
            report = evaluate(logged, candidate, seed=n)
            for key in ("ips", "snips", "dr"):
                est = getattr(report, key)
                hits[candidate.name][key] += est.low <= truth <= est.high
                width[candidate.name][key] += (est.high - est.low) / logs
    return {
        name: {
            **{f"{k}_coverage": round(v / logs, 3) for k, v in by.items()},
            **{f"{k}_mean_width": round(v, 4) for k, v in width[name].items()},
        }
        for name, by in hits.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", type=int, default=100)
    parser.add_argument("--decisions", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps({"logs": args.logs, "decisions": args.decisions, **coverage(args.logs, args.decisions)}))


if __name__ == "__main__":
    main()
