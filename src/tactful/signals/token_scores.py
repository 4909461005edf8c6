"""The ``fast`` tier's head scores as a sum of per-token rows (the ``additive`` feature scheme).

With ``additive`` features (``featurize.py``) a message's word block is Σ w · idf over its grams
(w = 1 + log of how often the gram's token occurs), divided by √(Σ w² · idf²); the character block
likewise. The heads are linear, so every head's raw scores are

    z = Σ_t w_t · A_t / √(Σ_t w_t² · a_t) + Σ_t w_t · C_t / √(Σ_t w_t² · c_t) + cues · D + bias

over the distinct tokens and bigrams t, where A_t = Σ idf · weights[gram] over t's word grams and
a_t = Σ idf² (C_t, c_t: its character grams). Each token's (A, a, C, c) is one row of 2 · (K + 1)
numbers (K: the heads' columns, 37 shipped), worked out the first time the token is seen. A message
costs a look-up per token and per bigram, one (weighted) sum over a few dozen rows, two scalings and
the ten dense cues' product: no gather of a weight row per gram (a message has hundreds of grams,
and inside a decision those rows are not in the CPU caches). The numbers are those of
``Featurizer.matrix(texts) @ weights`` (how the heads are trained and measured), summed in another
order.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from tactful.signals.featurize import (
    DENSE,
    DENSE_SCALE,
    Featurizer,
    Valence,
    tokens_of,
    valence_cues,
)
from tactful.signals.heads import HeadSet

# Rows remembered (float32). Shipped heads: 76 numbers a row, so 50,000 tokens ≈ 15 MB at most;
# a bigram's row is as wide (its character half is zero), 50,000 of them another 15 MB.
CACHE_TOKENS: Final = 50_000
CACHE_BIGRAMS: Final = 50_000

_Entry = tuple[bytes, dict[str, bytes], Valence]


class TokenScorer:
    """``scores(text)``: every head's raw scores (float64, shape (K,)) for one message."""

    def __init__(self, featurizer: Featurizer, heads: HeadSet) -> None:
        if featurizer.scheme != "additive":
            raise ValueError("per-token scores need the additive feature scheme")
        self._featurizer = featurizer
        self._weights = heads.weights
        self._k = heads.bias.shape[0]
        self._idf = featurizer.column_idf
        self._block = featurizer.column_block
        start = featurizer.dense_start
        self._dense = heads.weights[start : start + len(DENSE)].astype(np.float64) * DENSE_SCALE
        self._bias = heads.bias.astype(np.float64)
        self._norm_columns = np.zeros(2 * (self._k + 1), dtype=bool)  # the two Σ idf² columns of a row
        self._norm_columns[[self._k, 2 * self._k + 1]] = True
        self._tokens: dict[str, _Entry] = {}
        self._bigrams: dict[bytes, bytes] = {}

    def scores(self, text: str) -> npt.NDArray[np.float64]:
        tokens = tokens_of(text)
        known = self._tokens
        entries = [known.get(t) or self._token(t) for t in tokens]
        parts = [row for row, _, _ in entries]
        # Which occurrence of its token (bigram) each row is: the j-th adds w(j) − w(j − 1) of
        # w(n) = 1 + log n (and of w² to the Σ idf² columns), so n occurrences sum to the scheme's
        # weight without counting them first.
        seen: dict[str | bytes, int] = {}
        order = []
        for t in tokens:
            seen[t] = j = seen.get(t, 0) + 1
            order.append(j)
        if len(tokens) > 1:
            bigrams = self._bigrams
            pairs = zip(entries[:-1], tokens[1:], strict=True)
            found = [c for (_, after, _), b in pairs if (c := after.get(b))]
            parts += [bigrams.get(c) or self._bigram(c) for c in found]
            for c in found:
                seen[c] = j = seen.get(c, 0) + 1
                order.append(j)
        k = self._k
        rows = np.frombuffer(b"".join(parts), dtype=np.float32).reshape(-1, 2 * (k + 1))
        if len(seen) == len(order):  # nothing twice (a short message): every weight is 1
            blocks = rows.sum(axis=0, dtype=np.float64)
        else:
            linear, square = _increments(max(order))
            both = np.dot(([linear[j] for j in order], [square[j] for j in order]), rows)
            blocks = np.where(self._norm_columns, both[1], both[0])
        blocks = blocks.reshape(2, k + 1)
        words, chars = blocks[:, k].tolist()
        scales = (
            1.0 / math.sqrt(words) if words > 0.0 else 0.0,
            1.0 / math.sqrt(chars) if chars > 0.0 else 0.0,
        )
        cues = valence_cues(text, [valence for _, _, valence in entries])
        z: npt.NDArray[np.float64] = np.dot(scales, blocks[:, :k]) + np.dot(cues, self._dense) + self._bias
        return z

    def _token(self, token: str) -> _Entry:
        columns, after, valence = self._featurizer.token_columns(token)
        idf = self._idf[columns]
        # (2, m): gram j's IDF in the row of its block (words, characters); one product then
        # gives both blocks' Σ idf · weights and, against the IDF itself, their Σ idf².
        by_block = np.zeros((2, len(columns)))
        by_block[self._block[columns], np.arange(len(columns))] = idf
        row = np.empty((2, self._k + 1))
        row[:, : self._k] = by_block @ self._weights[columns]
        row[:, self._k] = by_block @ idf
        entry = (row.astype(np.float32).tobytes(), after, valence)
        if len(self._tokens) < CACHE_TOKENS:
            self._tokens[token] = entry
        return entry

    def _bigram(self, column: bytes) -> bytes:
        c = int(np.frombuffer(column, dtype=np.intp)[0])
        idf = float(self._idf[c])
        row = np.zeros((2, self._k + 1), dtype=np.float32)
        row[0, : self._k] = self._weights[c] * idf
        row[0, self._k] = idf * idf
        found = row.tobytes()
        if len(self._bigrams) < CACHE_BIGRAMS:
            self._bigrams[column] = found
        return found


_INCREMENTS: tuple[list[float], list[float]] = ([0.0], [0.0])


def _increments(top: int) -> tuple[list[float], list[float]]:
    """Per occurrence index j (1-based): w(j) − w(j − 1) and w(j)² − w(j − 1)², w(j) = 1 + log j,
    w(0) = 0; a table grown to ``top`` (a new one, never changed in place: threads may read it)."""
    global _INCREMENTS
    linear, square = _INCREMENTS
    if top < len(linear):
        return linear, square
    size = max(top + 1, 2 * len(linear), 64)
    w = [0.0, *(1.0 + math.log(j) for j in range(1, size))]
    _INCREMENTS = (
        [0.0, *(w[j] - w[j - 1] for j in range(1, size))],
        [0.0, *(w[j] * w[j] - w[j - 1] * w[j - 1] for j in range(1, size))],
    )
    return _INCREMENTS
