"""The ``fast`` tier's head scores as a sum of per-token rows (the ``additive`` feature scheme).

With ``additive`` features (``featurize.py``) a message's word block is Σ w · idf over its grams
(w = 1 + log of how often the gram's token occurs), divided by √(Σ w² · idf²); the character block
likewise. The heads are linear, so every head's raw scores are

    z = Σ_t w_t · A_t / √(Σ_t w_t² · a_t) + Σ_t w_t · C_t / √(Σ_t w_t² · c_t) + cues · D + bias

over the distinct tokens and bigrams t, where A_t = Σ idf · weights[gram] over t's word grams and
a_t = Σ idf² (C_t, c_t: its character grams). Each token's rows A_t and C_t (K numbers each, K: the
heads' columns, 37 shipped) and its a_t and c_t are worked out the first time the token is seen
(a bigram has A_t and a_t only). A message costs a look-up per token and per bigram, the two norms
summed in Python, and ONE product: the coefficients (w_t / norm per row, the cues, 1 for the bias)
times the message's rows stacked with D and the bias. Inside a decision the CPU caches are cold
and every NumPy call costs several microseconds more than warm, so the count of calls is what is
kept small (four), not the arithmetic. The numbers are those of ``Featurizer.matrix(texts) @
weights`` (how the heads are trained and measured), summed in another order.
"""

from __future__ import annotations

import math
import sys
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

# Rows remembered (float32). Shipped heads: 76 numbers a token, so 50,000 tokens ≈ 15 MB at most;
# a bigram's row is half as wide, 50,000 of them another 7.5 MB.
CACHE_TOKENS: Final = 50_000
CACHE_BIGRAMS: Final = 50_000

# A token's rows A_t and C_t (float32 bytes, A then C), the bigram columns of the tokens that may
# follow it, its VADER reading, and its a_t and c_t (float32 values, as Python floats).
_Entry = tuple[bytes, dict[str, bytes], Valence, float, float]
_Bigram = tuple[bytes, float]  # A_t (float32 bytes) and a_t
_NO_BIGRAMS: Final[dict[str, bytes]] = {}  # what may follow "nothing": the first token starts no bigram


class TokenScorer:
    """``scores(text)``: every head's raw scores (float64, shape (K,)) for one message."""

    def __init__(self, featurizer: Featurizer, heads: HeadSet) -> None:
        if featurizer.scheme != "additive":
            raise ValueError("per-token scores need the additive feature scheme")
        self._featurizer = featurizer
        self._weights = heads.weights
        self._k = heads.bias.shape[0]
        self._idf = featurizer.column_idf
        # Per column, its IDF in the row of its block (0: word grams, 1: character grams), 0 in the
        # other: a token's (2, m) block matrix is one gather (first sight of a token, ~20 grams).
        block = featurizer.column_block
        self._block_idf = np.zeros((2, len(block)))
        self._block_idf[block, np.arange(len(block))] = self._idf[: len(block)]
        start = featurizer.dense_start
        # The rows every message ends with: the dense cues' (× DENSE_SCALE, exact in float32) and
        # the bias, their coefficients the cue values and 1.
        dense = heads.weights[start : start + len(DENSE)].astype(np.float32) * np.float32(DENSE_SCALE)
        self._tail = dense.tobytes() + heads.bias.astype(np.float32).tobytes()
        self._tokens: dict[str, _Entry] = {}
        self._bigrams: dict[bytes, _Bigram] = {}

    def scores(self, text: str) -> npt.NDArray[np.float64]:
        known = self._tokens
        # One pass over the tokens: each token's entry, how often it occurs (each distinct token
        # is weighted by w(n) = 1 + log n of its count n, and by w² in the norms; plain dicts
        # keep the order of first occurrence), the bigram columns found and the VADER readings.
        # One loop rather than a comprehension each: inside a decision every extra code path
        # costs its cache misses.
        counts: dict[str, int] = {}
        distinct: list[_Entry] = []
        found: list[bytes] = []
        valences: list[Valence] = []
        after: dict[str, bytes] = _NO_BIGRAMS
        for t in tokens_of(text):
            entry = known.get(t) or self._token(t)
            if (g := after.get(t)) is not None:
                found.append(g)
            after = entry[1]
            valences.append(entry[2])
            n = counts.get(t)
            if n is None:
                counts[t] = 1
                distinct.append(entry)
            else:
                counts[t] = n + 1
        w = _weights(max(counts.values(), default=1))
        parts: list[bytes] = []
        token_w: list[float] = []
        words = chars = 0.0
        for (row, _, _, word_norm, char_norm), n in zip(distinct, counts.values(), strict=True):
            v = w[n]
            parts.append(row)
            token_w.append(v)
            words += v * v * word_norm
            chars += v * v * char_norm
        pair_w: list[float] = []
        if found:
            pairs: dict[bytes, int] = {}
            for g in found:
                pairs[g] = pairs.get(g, 0) + 1
            w = _weights(max(pairs.values()))
            known_pairs = self._bigrams
            for g, n in pairs.items():
                row, norm = known_pairs.get(g) or self._bigram(g)
                v = w[n]
                parts.append(row)
                pair_w.append(v)
                words += v * v * norm
        s_words = 1.0 / math.sqrt(words) if words > 0.0 else 0.0
        s_chars = 1.0 / math.sqrt(chars) if chars > 0.0 else 0.0
        scales = (s_words, s_chars)  # one tuple per message, not one per token
        coefficients = [v * s for v in token_w for s in scales]
        coefficients += [v * s_words for v in pair_w]
        coefficients += valence_cues(text, valences)
        coefficients.append(1.0)
        parts.append(self._tail)
        rows = np.frombuffer(b"".join(parts), dtype=np.float32).reshape(-1, self._k)
        z: npt.NDArray[np.float64] = np.dot(coefficients, rows)
        return z

    def warm(self) -> None:
        """Work out now the rows of every vocabulary word (within the cache's bound), so that a
        decision pays for a first-seen token only when it is not a vocabulary word (a name, a
        typo, a number). A message of unseen words cost up to ~0.5 ms more: it made the signals
        stage's p99 inside decide. The rows are the ones a first sight makes (the same code), so
        scores do not change. Bigrams are left to their first sight: ~3 µs each, and all of the
        vocabulary's would take 30 MB. ~0.2 s and ~10 MB for the shipped vocabulary."""
        known = self._tokens
        for word in self._featurizer.words:
            if word not in known and len(known) < CACHE_TOKENS:
                self._token(word)

    def _token(self, token: str) -> _Entry:
        found, after, valence = self._featurizer.token_columns(token)
        columns = np.array(found, dtype=np.intp)  # once: it indexes three arrays
        # (2, m): gram j's IDF in the row of its block (words, characters), zero in the other; one
        # product then gives both blocks' Σ idf · weights and, against the IDF, their Σ idf².
        by_block = self._block_idf[:, columns]
        blocks = by_block @ self._weights[columns]
        norms = by_block @ self._idf[columns]
        a, c = norms.astype(np.float32).tolist()
        entry = (blocks.astype(np.float32).tobytes(), after, valence, a, c)
        if len(self._tokens) < CACHE_TOKENS:
            self._tokens[token] = entry
        return entry

    def _bigram(self, column: bytes) -> _Bigram:
        c = int.from_bytes(column, sys.byteorder, signed=True)  # an intp's bytes (featurize.py)
        idf = float(self._idf[c])
        # float32 row times a Python float: a float32 product; idf² (exact in float64, as both are
        # float32 values) rounded to float32 once, as a float32 array element would be
        found = ((self._weights[c] * idf).tobytes(), float(np.float32(idf * idf)))
        if len(self._bigrams) < CACHE_BIGRAMS:
            self._bigrams[column] = found
        return found


_WEIGHTS: list[float] = [0.0]


def _weights(top: int) -> list[float]:
    """w(n) = 1 + log n per count n, w(0) = 0; a table grown to ``top`` (a new one, never
    changed in place: threads may read it)."""
    global _WEIGHTS
    found = _WEIGHTS
    if top < len(found):
        return found
    size = max(top + 1, 2 * len(found), 64)
    _WEIGHTS = [0.0, *(1.0 + math.log(j) for j in range(1, size))]
    return _WEIGHTS
