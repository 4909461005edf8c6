"""The shipped artifacts are what the current code builds from the shared data.

A full `tactful train all` takes minutes, so this rebuilds one head (injection, the smallest
recipe) per tier with the shipped vocabulary / encoder and compares it with the shipped columns,
and re-reads the recorded dev figures. A featurizer, recipe or solver change that is not followed
by a retrain fails here.

Floating-point kernels differ between CPUs of the same kind (a float16 weight can land one step
away), so weights are compared within a stated tolerance, never bit for bit: WEIGHT_ATOL is a few
float16 steps at the weights' scale, far below what a recipe or featurizer change moves, and the
recorded dev figures must agree within FIGURE_ATOL (one or two dev examples).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tactful.signals.base import TierUnavailable
from tactful.signals.datasets import data_dir
from tactful.signals.featurize import Vocabulary
from tactful.signals.heads import HeadSet, quantised
from tactful.signals.hub import read_registry
from tactful.signals.tiers import MODELS_DIR, artifact_path
from tactful.signals.training import train_tier

pytestmark = pytest.mark.skipif(
    not (data_dir() / "deepset-prompt-injections" / "train.csv").is_file(), reason="shared data not present"
)


WEIGHT_ATOL = 2e-3
FIGURE_ATOL = 0.02


def _check(tier: str, shipped: HeadSet, rebuilt: HeadSet, figures: dict[str, Any]) -> None:
    old, new = shipped.heads["injection"], rebuilt.heads["injection"]
    np.testing.assert_allclose(
        shipped.weights[:, old.start : old.stop],
        quantised(rebuilt.weights[:, new.start : new.stop]),
        rtol=0,
        atol=WEIGHT_ATOL,
    )
    np.testing.assert_allclose(
        shipped.bias[old.start : old.stop], rebuilt.bias[new.start : new.stop], rtol=0, atol=WEIGHT_ATOL
    )
    assert old.temperature == pytest.approx(new.temperature, rel=0.1)
    recorded = read_registry(MODELS_DIR)["models"][f"injection-{tier}"]["dev"]
    for key in ("f1", "precision", "recall", "customer_tweets_dev_fpr_at_0.7", "bitext_dev_fpr_at_0.7"):
        assert float(recorded[key]) == pytest.approx(float(figures[key]), abs=FIGURE_ATOL), key


def test_fast_injection_head_is_rebuilt_within_tolerance() -> None:
    shipped, arrays = HeadSet.load(artifact_path("fast"))
    terms = tuple(arrays["terms"].tobytes().decode("utf-8").split("\n"))
    vocabulary = Vocabulary(terms, arrays["idf"].astype(np.float32))
    scheme = shipped.meta.get("features", "tfidf")
    trained, _ = train_tier("fast", ["injection"], vocabulary=vocabulary, scheme=scheme)
    _check("fast", shipped, trained.heads, trained.figures["injection"])


def test_embed_injection_head_is_rebuilt_within_tolerance() -> None:
    from tactful.signals.encoders import load_encoder

    path = artifact_path("embed")
    if not path.is_file():
        pytest.skip("no embed artifact")
    try:
        encoder = load_encoder("embed")
    except TierUnavailable as exc:
        pytest.skip(str(exc))
    shipped, _ = HeadSet.load(path)
    assert shipped.meta["encoder"] == encoder.version
    trained, _ = train_tier("embed", ["injection"], encode=encoder.encode)
    _check("embed", shipped, trained.heads, trained.figures["injection"])


def test_eval_on_the_written_held_out_customer_messages_gives_the_recorded_rate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tactful.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["models", "splits", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = tmp_path / "injection_customer_tweets_dev.csv"
    args = ["eval", "injection", "--data", str(data), "--text-col", "text", "--label-col", "label"]
    result = runner.invoke(app, [*args, "--tier", "fast", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    recorded = read_registry(MODELS_DIR)["models"]["injection-fast"]["dev"]
    assert found["n"] == recorded["customer_tweets_dev_n"]
    assert found["accuracy"] == pytest.approx(1.0 - recorded["customer_tweets_dev_fpr_at_0.5"])
