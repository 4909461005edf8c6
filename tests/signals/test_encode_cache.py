"""The training-time vector cache: each text encoded once per encoder version, exactly the
encoder's vectors, kept across runs, never shared between versions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tactful.signals.base import Vectors
from tactful.signals.encode_cache import CachedEncoder


class Counting:
    name = "test"
    dim = 3

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        rows = np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_each_text_is_encoded_once_and_rows_are_the_encoders(tmp_path: Path) -> None:
    inner = Counting()
    cached = CachedEncoder(inner, tmp_path)
    first = cached.encode(["a", "bb", "a"])
    second = cached.encode(["bb", "ccc", "a"])
    assert inner.seen == ["a", "bb", "ccc"]
    np.testing.assert_array_equal(first, Counting().encode(["a", "bb", "a"]))
    np.testing.assert_array_equal(second, Counting().encode(["bb", "ccc", "a"]))
    assert (cached.name, cached.version, cached.dim) == ("test", "v1", 3)


def test_vectors_survive_a_restart_but_not_a_new_version(tmp_path: Path) -> None:
    CachedEncoder(Counting(), tmp_path).encode(["refund", "hello"])
    again = Counting()
    CachedEncoder(again, tmp_path).encode(["hello", "refund"])
    assert again.seen == []
    other = Counting("v2")
    CachedEncoder(other, tmp_path).encode(["hello"])
    assert other.seen == ["hello"]


def test_a_torn_write_is_read_as_an_empty_cache(tmp_path: Path) -> None:
    cached = CachedEncoder(Counting(), tmp_path)
    cached.encode(["one", "two"])
    (cached.directory / "keys.txt").write_text("only-one-key\n", encoding="ascii")
    fresh = Counting()
    CachedEncoder(fresh, tmp_path).encode(["one"])
    assert fresh.seen == ["one"]
