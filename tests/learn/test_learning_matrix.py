"""bench/learning_matrix.py: runs are appended as they finish, a rerun resumes (skips what is there),
rows of another learner are not mixed in, and the per-spec summary (interval, worst seed, drift
recovery per drift) is computed from the rows."""

from __future__ import annotations

import json
from pathlib import Path

from bench.learning_matrix import paired, per_spec, read_rows, report, run_matrix, table

from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def test_matrix_appends_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    specs = [load_spec(ROOT / "examples/populations/telco.yaml"), random_spec(7)]
    run_matrix(specs, [1], 250, 1, out, "learner-a")
    rows = list(read_rows(out))
    assert [(r["spec"], r["seed"]) for r in rows] == [("telco", 1), (specs[1].name, 1)]
    assert all(r["learner"] == "learner-a" and r["decisions"] == 250 for r in rows)
    with out.open("a", encoding="utf-8") as f:
        f.write('{"spec": "cut short')  # a run stopped mid-write
    run_matrix(specs, [1, 2], 250, 1, out, "learner-a")  # only seed 2 is new
    rows = list(read_rows(out))
    assert sorted((r["spec"], r["seed"]) for r in rows) == sorted(
        [("telco", 1), ("telco", 2), (specs[1].name, 1), (specs[1].name, 2)]
    )
    run_matrix(specs[:1], [1], 250, 1, out, "learner-b")  # another learner: run again
    assert sum(r["learner"] == "learner-b" for r in read_rows(out)) == 1
    # The same code under two labels: paired on the one run both have, no difference.
    comparison = paired(out, "learner-b", "learner-a", 250)
    assert "| telco | 1 |" in comparison and "+0.000" in comparison and "all (1 runs" in comparison
    # Two labels summarised as one learner: each (spec, seed) once, the first label's row kept.
    (joined,) = [s for s in report(out, "learner-b,learner-a", 250) if s["spec"] == "telco"]
    assert joined["seeds"] == [1, 2]
    assert "all (4 runs" in paired(out, "learner-b,learner-a", "learner-a", 250)

    telco = per_spec([r for r in read_rows(out) if r["spec"] == "telco" and r["learner"] == "learner-a"])
    share = telco["bandit_share_of_oracle"]
    assert telco["seeds"] == [1, 2]
    assert share["worst"] == min(share["per_seed"]) and share["low"] <= share["mean"] <= share["high"]
    assert telco["policy_violations"] == 0
    (drift,) = telco["drift_recovery"]  # telco drifts once, at half the run
    assert drift["at_decision"] == 125 and len(drift["per_seed"]) == 2
    assert len(drift["back_to_level_per_seed"]) == 2  # recovery to the bandit's own pre-drift level
    assert "telco" in table([telco])


def test_targets_met_needs_every_seed_and_every_drift() -> None:
    def row(seed: int, share: float, gain: float, recovered: int | None) -> dict[str, object]:
        rules_beats_oracle = seed == 7
        return {
            "strategies": {
                "oracle": {"cumulative_expected_reward": 100.0},
                "rules": {"cumulative_expected_reward": 120.0 if rules_beats_oracle else 80.0},
            },
            "spec": "s",
            "seed": seed,
            "bandit_share_of_oracle": share,
            "bandit_gain_over_rules": gain,
            "policy_violations": 0,
            "cpu_seconds": 1.0,
            "drift_recovery": [{"at_decision": 100, "recovered_after": recovered, "window": 50}],
        }

    good = [row(s, 0.95, 0.3, 600) for s in range(1, 6)]
    assert per_spec(good)["targets_met"]
    assert not per_spec([*good, row(6, 0.95, 0.3, None)])["targets_met"]  # one seed never recovered
    assert not per_spec([*good, row(6, 0.95, 0.1, 600)])["targets_met"]  # bandit/rules 1.10 on one seed
    assert not per_spec([*good, row(6, 0.85, 0.3, 600)])["targets_met"]  # worst seed under 0.88
    summary = per_spec([*good, row(6, 0.95, 0.3, None)])
    assert (
        summary["drift_recovery"][0]["not_recovered"] == 1 and summary["drift_recovery"][0]["worst"] is None
    )
    assert json.dumps(summary)
    assert per_spec(good)["oracle_beaten_by"] == []
    assert per_spec([*good, row(7, 0.95, 0.3, 600)])["oracle_beaten_by"] == ["rules"]
