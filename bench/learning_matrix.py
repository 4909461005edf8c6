"""The issue-16 bar: every shipped population spec and N generated ones, each over several seeds,
``tactful simulate``'s default policy; prints one JSON line per spec and a markdown table.

Targets: mean bandit/oracle ≥ 0.92, worst seed ≥ 0.88, bandit/rules ≥ 1.15 on every seed, 0
violations, drift recovery ≤ 2,000 decisions. The generated specs use seeds 1000+ of
``random_spec`` (the tests use 0-99), so nothing here was looked at while writing the learner.

    nice python bench/learning_matrix.py --decisions 20000 --seeds 1-10 --generated 20 --jobs 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.seeds import parse_seeds, simulate_seeds
from tactful.learn.simulator.spec import PopulationSpec, load_spec

ROOT = Path(__file__).resolve().parents[1]


def _row(report: dict[str, Any]) -> str:
    share, gain = report["bandit_share_of_oracle"], report["bandit_gain_over_rules"]
    drift = report.get("drift_recovery")
    recovery = (
        "—" if drift is None else (str(drift["worst"]) if drift["worst"] is not None else "not within run")
    )
    ok = (
        share["mean"] >= 0.92
        and share["worst"] >= 0.88
        and min(gain["per_seed"]) >= 0.15
        and report["policy_violations"] == 0
        and (drift is None or (drift["worst"] is not None and drift["worst"] <= 2000))
    )
    return (
        f"| {report['spec']} | {share['mean']:.3f} | {share['worst']:.3f} | "
        f"[{share['low']:.3f}, {share['high']:.3f}] | {1 + min(gain['per_seed']):.2f} | "
        f"{report['policy_violations']} | {recovery} | {report['seconds_per_run']['mean']:.0f} | "
        f"{'met' if ok else 'missed'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seeds", default="1-10")
    parser.add_argument("--generated", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--only-shipped", action="store_true")
    args = parser.parse_args()
    specs: list[PopulationSpec] = [
        load_spec(p) for p in sorted((ROOT / "examples/populations").glob("*.yaml"))
    ]
    if not args.only_shipped:
        specs += [random_spec(1000 + i) for i in range(args.generated)]
    rows = []
    for spec in specs:
        report = simulate_seeds(
            spec, None, decisions=args.decisions, seeds=parse_seeds(args.seeds), jobs=args.jobs
        )
        report.pop("regret_curves", None)
        print(json.dumps(report), flush=True)
        rows.append(_row(report))
    print(
        "\n| spec | bandit/oracle mean | worst seed | 95 % interval | bandit/rules worst seed | "
        "violations | drift recovery (worst) | s per run | targets |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
