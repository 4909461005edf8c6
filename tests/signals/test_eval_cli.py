"""``tactful eval <task>``: the JSON keys of the issue, predictions files, and clear bad-input errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from tactful.cli import app
from tactful.signals import metrics

runner = CliRunner()


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _run(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["eval", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_sentiment_json_with_baseline_and_predictions(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "s.tsv",
        ["tweet", "gold"],
        [
            ["I love this, thank you!", "positive"],
            ["This is awful and broken", "negative"],
            ["The store opens at 9", "neutral"],
        ],
    )
    out = _run(
        "sentiment",
        "--data",
        str(data),
        "--text-col",
        "tweet",
        "--label-col",
        "gold",
        "--tier",
        "lexicon",
        "--baseline",
        "vader",
        "--predictions",
        str(tmp_path / "p.csv"),
    )
    assert out["n"] == 3 and out["tier"] == "lexicon" and out["model_version"]
    for key in ("macro_recall", "macro_f1", "accuracy", "latency_p50_ms", "latency_p99_ms"):
        assert 0.0 <= float(out[key]) <= (1.0 if "latency" not in key else 1e9)  # type: ignore[arg-type]
    assert set(out["baseline"]) >= {"macro_recall", "macro_f1", "accuracy"}  # type: ignore[arg-type]
    with (tmp_path / "p.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["0", "1", "2"]
    recomputed = metrics.classification([r["gold"] for r in rows], [r["pred"] for r in rows])
    assert recomputed["macro_recall"] == out["macro_recall"]


def test_politeness_binary_accuracy_and_formality_spearman(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "p.csv",
        ["request", "score", "q"],
        [
            ["Could you please take a look? Thanks a lot!", "1.2", "polite"],
            ["Fix this now.", "-1.0", "impolite"],
            ["Can you check it?", "0.1", "middle"],
        ],
    )
    out = _run(
        "politeness",
        "--data",
        str(data),
        "--text-col",
        "request",
        "--label-col",
        "score",
        "--class-col",
        "q",
        "--tier",
        "lexicon",
    )
    assert out["n_binary"] == 2 and "binary_accuracy" in out and "spearman" in out
    out = _run(
        "formality", "--data", str(data), "--text-col", "request", "--label-col", "score", "--tier", "lexicon"
    )
    assert -1.0 <= float(out["spearman"]) <= 1.0  # type: ignore[arg-type]


def test_intent_with_train_reports_clinc_metrics(tmp_path: Path) -> None:
    rows = [[f"where is my {t}", "delivery"] for t in ("order", "parcel", "box", "shoes", "lamp", "bag")]
    rows += [[f"refund my {t} please", "refund"] for t in ("order", "parcel", "box", "shoes", "lamp", "bag")]
    rows += [
        [t, "oos"]
        for t in ("tell me a joke", "weather tomorrow", "play jazz", "who is the president", "set alarm")
    ]
    train = _write(tmp_path / "train.csv", ["text", "intent"], rows)
    dev = _write(
        tmp_path / "dev.csv", ["text", "intent"], [["where is my sofa", "delivery"], ["sing a song", "oos"]]
    )
    out = _run("intent", "--data", str(dev), "--train", str(train), "--label-col", "intent")
    assert {"accuracy", "in_scope_accuracy", "oos_recall", "threshold"} <= set(out)
    assert out["n"] == 2


def test_bad_input_exits_2_with_a_message(tmp_path: Path) -> None:
    data = _write(tmp_path / "s.csv", ["text", "label"], [["hi", "great"]])
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--tier", "lexicon", "--json"])
    assert result.exit_code == 2 and "negative/neutral/positive" in result.output
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--text-col", "tweet", "--json"])
    assert result.exit_code == 2 and "no column 'tweet'" in result.output
    result = runner.invoke(app, ["eval", "injection", "--data", str(data), "--baseline", "vader", "--json"])
    assert result.exit_code == 2 and "sentiment task only" in result.output
