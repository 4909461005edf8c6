"""Experiments on the population simulator (examples/populations/rollout.yaml: customers resolve far
better on chat): a candidate that denies chat is rolled back at its first 5 % step, having reached
few customers; one that moves e-mail threads to chat ramps 5 % → 25 % → 50 % and is promoted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tactful.config import default_policy_file
from tactful.learn.simulator.experiment import simulate_experiment, with_rules
from tactful.learn.simulator.spec import load_spec
from tactful.policy.experiments import ExperimentSettings
from tactful.store import SqlStore, open_store

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec(ROOT / "examples/populations/rollout.yaml")
CONTROL = default_policy_file().read_text(encoding="utf-8")
SETTINGS = ExperimentSettings(min_samples=100, min_samples_per_step=150, outcome_window_s=3600)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'sim.db'}")
    yield s
    s.close()


def _run(store: SqlStore, rules: str, seed: int) -> dict[str, Any]:
    candidate = with_rules(CONTROL, (ROOT / "examples/experiments" / rules).read_text(encoding="utf-8"))
    return simulate_experiment(store, SPEC, CONTROL, candidate, settings=SETTINGS, decisions=8000, seed=seed)


def test_a_worse_candidate_is_rolled_back_before_it_reaches_many_customers(store: SqlStore) -> None:
    report = _run(store, "deny-chat.yaml", seed=1)
    assert report["state"] == "rolled_back"
    assert [e["event"] for e in report["events"]] == ["rollback"]  # never ramped past 5 %
    # Exposure before rollback, reported: about 70 customers here (docs/experiments.md); the test
    # needs only a clear margin under what the first step alone would have reached by then.
    exposed = report["exposed_customers"]
    assert 0 < exposed <= 150, report
    assert report["exposed_decisions"] < 0.1 * report["decisions_run"]
    assert report["result"]["exposed_customers"] == exposed  # recorded on the experiment, audited
    breached = {g["metric"] for g in report["result"]["guardrails"]}
    assert breached & {"resolution", "recontact", "csat"}
    kinds = [e.kind for e in store.audit.entries(report["tenant_id"])]
    assert kinds.count("experiment.rollback") == 1
    assert store.get_policy(report["tenant_id"]).version == 1  # type: ignore[union-attr]  # control still active


def test_a_better_candidate_ramps_up_and_is_promoted(store: SqlStore) -> None:
    report = _run(store, "email-to-chat.yaml", seed=1)
    assert report["state"] == "promoted", report["guardrails"]
    assert [(e["event"], e["share"]) for e in report["events"]] == [
        ("ramp", 0.25),
        ("ramp", 0.5),
        ("promote", 1.0),
    ]
    assert not any(g["breached"] for g in report["guardrails"])
    arms = report["arms"]
    assert arms["candidate"]["resolution"] > arms["control"]["resolution"]
    assert store.get_policy(report["tenant_id"]).version == 2  # type: ignore[union-attr]  # the candidate is active
