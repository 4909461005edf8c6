"""``tactful simulate``, ``tactful eval ope`` and ``tactful learn ...`` in-process against SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RETAIL = str(ROOT / "examples/populations/retail.yaml")


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = runner.invoke(app, ["tenants", "create", "demo", "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    return url


def test_simulate_json_plot_and_log(tmp_path: Path) -> None:
    plot, log = tmp_path / "regret.png", tmp_path / "log.jsonl"
    args = ["simulate", "--population", RETAIL, "--decisions", "400", "--seed", "3", "--json"]
    r = runner.invoke(app, [*args, "--plot", str(plot), "--log-out", str(log)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["decisions"] == 400 and report["policy_violations"] == 0
    assert set(report["regret_vs_oracle"]) == {"rules", "bandit", "random", "oracle"}
    assert all("cumulative_reward" in s for s in report["strategies"].values())
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert len(log.read_text().splitlines()) == 400 - report["no_contact_decisions"]

    r = runner.invoke(app, ["eval", "ope", "--candidate", "rules", "--logs", str(log)])
    assert r.exit_code == 0, r.output
    ope = json.loads(r.stdout)
    for key in ("ips", "snips", "dr", "logging_policy"):
        low, high = ope[key]["ci95"]
        assert low <= ope[key]["value"] <= high


def test_simulate_rejects_a_bad_spec(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsituations: []\nsegments: [{name: a}]\n")
    r = runner.invoke(app, ["simulate", "--population", str(bad), "--decisions", "10"])
    assert r.exit_code == 2
    assert "invalid_spec" in r.output and "situations" in r.output
    r = runner.invoke(app, ["simulate", "--population", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2 and "spec_unreadable" in r.output


def test_learn_commands(db: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["learn", "mode", "live", "--db", db])
    assert r.exit_code == 0, r.output
    for i in range(3):
        r = runner.invoke(
            app,
            [
                "decide",
                "--db",
                db,
                "--text",
                "Where is my parcel?",
                "--channel",
                "chat",
                "--customer",
                f"c{i}",
            ],
        )
        assert r.exit_code == 0, r.output
    status = json.loads(runner.invoke(app, ["learn", "status", "--db", db]).stdout)
    assert status["mode"] == "live" and status["logged"] == 3 and status["open_windows"] == 3

    r = runner.invoke(app, ["learn", "snapshot", "--db", db, "--out", str(tmp_path / "m.vw")])
    assert r.exit_code == 0 and "snapshot v1" in r.output
    runner.invoke(app, ["learn", "snapshot", "--db", db])
    snaps = json.loads(runner.invoke(app, ["learn", "snapshots", "--db", db]).stdout)
    assert [s["version"] for s in snaps] == [2, 1]
    r = runner.invoke(app, ["learn", "rollback", "--to", "1", "--db", db])
    assert r.exit_code == 0 and "as snapshot v3" in r.output
    r = runner.invoke(app, ["learn", "rollback", "--to", "9", "--db", db])
    assert r.exit_code == 2 and "snapshot_not_found" in r.output

    r = runner.invoke(app, ["learn", "close-windows", "--db", db])
    assert r.exit_code == 0 and "closed 0" in r.output  # the windows are 24 h long
    r = runner.invoke(app, ["learn", "export", "--db", db, "--out", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 0 and "wrote 0" in r.output
    r = runner.invoke(app, ["learn", "mode", "sideways", "--db", db])
    assert r.exit_code == 2 and "invalid_mode" in r.output
    r = runner.invoke(
        app, ["eval", "ope", "--candidate", str(tmp_path / "m.vw"), "--logs", str(tmp_path / "nope.jsonl")]
    )
    assert r.exit_code == 2 and "logs_unreadable" in r.output


def test_eval_ope_with_a_learner_snapshot_as_candidate(db: str, tmp_path: Path) -> None:
    """The snapshot's model carries the seed it was trained with; the evaluator must not repeat a
    different one (it crashed with "Disagreeing option values for 'random_seed'")."""
    log = tmp_path / "log.jsonl"
    args = ["simulate", "--population", RETAIL, "--decisions", "200", "--seed", "5", "--json"]
    assert runner.invoke(app, [*args, "--log-out", str(log)]).exit_code == 0
    assert runner.invoke(app, ["learn", "mode", "live", "--db", db]).exit_code == 0
    decide = ["decide", "--db", db, "--text", "Where is my parcel?", "--channel", "chat", "--customer", "c1"]
    assert runner.invoke(app, decide).exit_code == 0
    r = runner.invoke(app, ["learn", "snapshot", "--db", db, "--out", str(tmp_path / "m.vw")])
    assert r.exit_code == 0, r.output
    for candidate in ("model:latest", str(tmp_path / "m.vw")):
        r = runner.invoke(app, ["eval", "ope", "--candidate", candidate, "--logs", str(log), "--db", db])
        assert r.exit_code == 0, r.output
        ope = json.loads(r.stdout)
        low, high = ope["ips"]["ci95"]
        assert low <= ope["ips"]["value"] <= high
