"""`tactful eval`: the anger task, per-language figures, and the warning when the evaluated file
overlaps a head's training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.cli import app
from tactful.signals import overlap
from tactful.signals.datasets import data_dir
from tactful.signals.tiers import MODELS_DIR

needs_data = pytest.mark.skipif(
    not (data_dir() / "clinc150" / "train.csv").is_file(), reason="shared data not present"
)


def test_overlap_counts_texts_seen_in_training_whatever_their_case_and_spacing(tmp_path: Path) -> None:
    overlap.record(
        tmp_path, "fast", {"intent": ["Where is my order?", "cancel my plan"], "sentiment": ["great"]}
    )
    overlap.record(tmp_path, "fast", {"sentiment": ["awful"]})  # retraining one signal keeps the others
    probe = ["where is  my ORDER?", "awful", "great", "something new"]
    assert overlap.overlap(tmp_path, "fast", probe) == {"intent": 1, "sentiment": 1}
    assert overlap.overlap(tmp_path, "embed", probe) == {}


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "lang"])
        writer.writerows(rows)
    return path


@needs_data
@pytest.mark.skipif(not overlap.path_for(MODELS_DIR, "fast").is_file(), reason="no training fingerprints")
def test_eval_warns_when_the_file_overlaps_the_training_data(tmp_path: Path) -> None:
    from tactful.signals.datasets import read_table

    seen = [r["text"] for r in read_table(data_dir() / "clinc150" / "train.csv") if r["intent"] == "oos"][:3]
    data = _csv(
        tmp_path / "d.csv", [(t, "other", "en") for t in seen] + [("a message nobody wrote", "other", "en")]
    )
    result = CliRunner().invoke(app, ["eval", "intent", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    assert "warning: 3 of 4 rows" in result.stderr
    assert json.loads(result.stdout)["training_overlap"]["intent-fast"] == 3


@needs_data
def test_held_out_support_turns_do_not_overlap_and_anger_reports_per_language(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["models", "splits", "--out", str(tmp_path)]).exit_code == 0
    result = runner.invoke(
        app, ["eval", "intent", "--data", str(tmp_path / "support_turns_dev.csv"), "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["n"] > 200
    # Only texts repeated word for word across conversations ("Thanks", "Thank you") can be seen.
    assert found.get("training_overlap", {}).get("intent-fast", 0) <= 0.02 * found["n"]
    rows = [
        ("This is a disgrace!!! Third time I ask!", "1", "en"),
        ("Thanks, all sorted", "0", "en"),
        ("¡Esto es una vergüenza! Llevo semanas esperando", "1", "es"),
        ("Gracias por la ayuda", "0", "es"),
    ]
    result = runner.invoke(app, ["eval", "anger", "--data", str(_csv(tmp_path / "a.csv", rows)), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert set(found["by_language"]) == {"en", "es"}
    assert found["by_language"]["es"]["n"] == 2
    assert found["accuracy"] == 1.0


def test_anger_labels_must_be_binary(tmp_path: Path) -> None:
    data = _csv(tmp_path / "bad.csv", [("hello", "angry", "en")])
    result = CliRunner().invoke(app, ["eval", "anger", "--data", str(data)])
    assert result.exit_code != 0
