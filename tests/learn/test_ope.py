"""Off-policy evaluation against the simulator's ground truth: the true value of a candidate lies in
the DR estimator's 95 % interval computed from another (logging) policy's decisions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tactful.config import default_policy_file
from tactful.errors import InputRejected
from tactful.learn.arms import Arm
from tactful.learn.model import BanditModel, explorer_args
from tactful.learn.ope import (
    LoggedDecision,
    ModelCandidate,
    RulesCandidate,
    UniformCandidate,
    evaluate,
    read_jsonl,
)
from tactful.learn.simulator.run import LoggedRow, simulate, write_log
from tactful.learn.simulator.spec import load_spec
from tactful.policy.loader import load_policy_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows() -> list[LoggedRow]:
    spec = load_spec(ROOT / "examples/populations/retail.yaml")
    policy = load_policy_file(default_policy_file())
    _, logged = simulate(spec, policy, decisions=4000, seed=11, strategies=["random"], log_strategy="random")
    return logged


def _logs(rows: list[LoggedRow]) -> list[LoggedDecision]:
    return [LoggedDecision(r.features, r.arms, r.chosen, r.propensity, r.reward) for r in rows]


def _true_value(rows: list[LoggedRow], pick: list[int]) -> float:
    return sum(r.expected[r.arms[i]] for r, i in zip(rows, pick, strict=True)) / len(rows)


def test_dr_interval_holds_the_true_value_of_the_rules(rows: list[LoggedRow]) -> None:
    report = evaluate(_logs(rows), RulesCandidate())
    truth = _true_value(rows, [0] * len(rows))
    assert report.dr.low <= truth <= report.dr.high
    assert report.ips.low <= truth <= report.ips.high
    # Uniform logging: the logging policy's observed value is the uniform candidate's value.
    uniform = evaluate(_logs(rows), UniformCandidate())
    assert uniform.ips.value == pytest.approx(report.logging.value, rel=1e-9)


def test_dr_interval_holds_the_true_value_of_a_trained_model(rows: list[LoggedRow]) -> None:
    train, test = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=2)
    for r in train:
        arms = [Arm.parse(k) for k in r.arms]
        model.learn(r.features, arms, r.arms.index(r.chosen), r.reward, r.propensity)
    candidate = ModelCandidate(model, "trained")
    picks = [model.predict(r.features, [Arm.parse(k) for k in r.arms]).greedy for r in test]
    truth = _true_value(test, picks)
    report = evaluate(_logs(test), candidate)
    assert report.dr.low <= truth <= report.dr.high
    assert report.snips.low <= truth <= report.snips.high
    # The trained model is better than the uniform logging policy, and OPE sees it.
    assert report.dr.low > report.logging.high
    assert report.dr.high - report.dr.low < report.ips.high - report.ips.low  # DR is the tighter one


def test_jsonl_round_trip_and_errors(rows: list[LoggedRow], tmp_path: Path) -> None:
    buffer = io.StringIO()
    write_log(rows[:50], buffer)
    path = tmp_path / "logs.jsonl"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    parsed = read_jsonl(path)
    assert [(d.chosen, d.propensity) for d in parsed] == [(r.chosen, r.propensity) for r in rows[:50]]

    bad = json.loads(buffer.getvalue().splitlines()[0])
    bad["chosen"] = "pigeon/warmer"
    path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(InputRejected, match=r"logs.jsonl:1: bad logged decision"):
        read_jsonl(path)
    with pytest.raises(InputRejected, match="at least 2"):
        evaluate(parsed[:1], RulesCandidate())


def test_dr_intervals_cover_the_truth_over_many_logs() -> None:
    """A small version of bench/ope_coverage.py (100 logs in docs/learning.md): over independent
    simulated logs, the DR 95 % interval holds the candidate's true value nearly every time."""
    import sys

    sys.path.insert(0, str(ROOT))
    from bench.ope_coverage import coverage

    found = coverage(logs=10, decisions=300)
    for figures in found.values():
        assert figures["dr_coverage"] >= 0.8
