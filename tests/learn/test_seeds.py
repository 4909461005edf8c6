"""Seeds as an axis: parsing, the summary maths, the CLI over several seeds in processes, and the
drift-recovery measure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.cli import app
from tactful.errors import InputRejected
from tactful.learn.simulator.run import RECOVERY_WINDOW, recovery_times
from tactful.learn.simulator.seeds import parse_seeds, summary
from tactful.learn.simulator.spec import parse_spec

runner = CliRunner()
TELCO = str(Path(__file__).resolve().parents[2] / "examples/populations/telco.yaml")


def test_parse_seeds() -> None:
    assert parse_seeds("1-4") == [1, 2, 3, 4]
    assert parse_seeds("3, 7,9") == [3, 7, 9]
    assert parse_seeds("11") == [11]
    for bad in ("", "1-x", "2,2", "1-5000"):
        with pytest.raises(InputRejected):
            parse_seeds(bad)


def test_summary_interval_holds_the_mean() -> None:
    s = summary([0.9, 0.95, 0.85, 0.92])
    assert s["worst"] == 0.85
    assert s["low"] < s["mean"] < s["high"]
    assert s["high"] - s["low"] > 0.05  # t with 3 degrees of freedom: a wide interval
    assert summary([0.5])["low"] == summary([0.5])["high"] == 0.5


def test_simulate_over_seeds_in_processes(tmp_path: Path) -> None:
    plot = tmp_path / "bands.png"
    args = ["simulate", "--population", TELCO, "--decisions", "300", "--seeds", "1-3", "--jobs", "2"]
    r = runner.invoke(app, [*args, "--json", "--plot", str(plot)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["seeds"] == [1, 2, 3]
    assert report["policy_violations"] == 0
    share = report["bandit_share_of_oracle"]
    assert len(share["per_seed"]) == 3 and share["worst"] == min(share["per_seed"])
    assert len(report["drift_recovery"]["per_seed"]) == 3  # telco drifts once
    assert plot.read_bytes().startswith(b"\x89PNG")
    # One seed: today's report, unchanged keys.
    r = runner.invoke(
        app, ["simulate", "--population", TELCO, "--decisions", "200", "--seeds", "2", "--json"]
    )
    assert r.exit_code == 0, r.output
    single = json.loads(r.stdout)
    assert single["seed"] == 2 and "regret_vs_oracle" in single
    r = runner.invoke(app, ["simulate", "--population", TELCO, "--seeds", "1-x"])
    assert r.exit_code != 0 and "invalid_seeds" in r.output


def test_recovery_time_counts_decisions_until_within_five_percent() -> None:
    spec = parse_spec(
        {
            "name": "x",
            "situations": [{"name": "s"}],
            "segments": [{"name": "a"}],
            "drift": [{"at": 0.25, "segment": "a"}],
        }
    )
    n = 8000
    oracle = [1.0] * n
    # Good before the drift (2000), poor for 1500 decisions after it, then good again.
    bandit = [1.0] * 2000 + [0.5] * 1500 + [0.99] * (n - 3500)
    [found] = recovery_times(bandit, oracle, spec, n)
    assert found["at_decision"] == 2000
    assert 1500 + RECOVERY_WINDOW * 0.8 < found["recovered_after"] <= 1500 + RECOVERY_WINDOW
    never = recovery_times([0.5] * n, oracle, spec, n)
    assert never[0]["recovered_after"] is None
    # Never within 5 % of the oracle, but back to its own pre-drift level (0.7) 1000 decisions after.
    weaker = [0.7] * 2000 + [0.3] * 1000 + [0.69] * (n - 3000)
    [found] = recovery_times(weaker, oracle, spec, n)
    assert found["recovered_after"] is None
    assert abs(found["level_before"] - 0.7) < 1e-9
    assert 1000 + RECOVERY_WINDOW * 0.8 < found["back_to_level_after"] <= 1000 + RECOVERY_WINDOW
