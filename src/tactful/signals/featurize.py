"""Sparse text features shared by every ``fast``-tier model: word 1–2-grams, character 2–5-grams
inside words, and a few dense cues (VADER word valences, punctuation, case, length).

One vocabulary serves all heads, so a message is featurised once per tier call, not once per model.
The same code builds the training matrices (``matrix``) and featurises at run time (``features``):
the numbers a model is trained on are exactly the numbers it later sees. Two weightings (``Scheme``):

- ``tfidf``: each block (words, chars) TF-IDF weighted with sublinear term frequency and
  L2-normalised on its own, as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` does. Tenant
  intent models and artifacts trained before 2026-12-04 use it.
- ``additive``: sublinear term frequency per *token*, not per gram: every gram of a distinct token
  (word, punctuation run) or bigram gets the weight w = 1 + log(how often that token occurs in the
  message), a column's value is Σ w · idf over its occurrences, and each block is divided by
  √(Σ w² · idf²) over occurrences (not the L2 norm, which would need the per-column totals). Both
  the block's vector and that sum are weighted sums of per-token parts, so a linear model's scores
  are a weighted sum of rows precomputed once per word (``signals/token_scores.py``): the fast
  tier's per-message cost is a look-up per token, not a gather of every gram's weight row. It
  differs from ``tfidf`` only where a gram occurs in two different tokens or twice in one.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

Scheme = Literal["tfidf", "additive"]
SCHEMES: Final[tuple[Scheme, ...]] = ("tfidf", "additive")


def scheme_of(meta: dict[str, object]) -> Scheme:
    """The feature scheme an artifact's metadata names; artifacts from before the additive scheme
    name none and were trained on tfidf."""
    name = meta.get("features", "tfidf")
    for scheme in SCHEMES:
        if name == scheme:
            return scheme
    raise ValueError(f"unknown feature scheme {name!r}; expected one of {', '.join(SCHEMES)}")


_TOKEN: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[!?]+|[^\w\s]")
_NEGATORS: Final = frozenset(
    [
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "cannot",
        "can't",
        "won't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "wasn't",
        "aren't",
        "haven't",
        "hasn't",
        "shouldn't",
        "wouldn't",
        "couldn't",
        "nicht",
        "kein",
        "keine",
        "nie",
    ]
)
CHAR_RANGE: Final = (2, 5)
# Dense cue columns appended after the sparse vocabulary, in this order.
DENSE: Final = (
    "vader_pos",
    "vader_neg",
    "vader_max",
    "vader_min",
    "exclaim",
    "question",
    "caps",
    "log_len",
    "first_upper",
    "ends_period",
)
DENSE_SCALE: Final = 0.5  # the dense block's weight next to the two unit-length sparse blocks
_WORD_CACHE: Final = 200_000  # distinct words whose character-gram columns are remembered
_TRUE: Final = np.ones(1, dtype=bool)
_INTP: Final = np.dtype(np.intp).itemsize
_T = TypeVar("_T")
_NO_BIGRAMS: Final[dict[str, bytes]] = {}


@cache
def vader_lexicon() -> dict[str, float]:
    """VADER's word valences (−4…+4), read from the installed ``vaderSentiment`` package."""
    text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            lexicon[parts[0]] = float(parts[1])
    return lexicon


def tokens_of(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; curly apostrophes folded to straight ones."""
    # Folded in the text, not per token: the pattern treats both apostrophes alike, so the tokens
    # are the same, and one replace costs less than one per token.
    return _TOKEN.findall(text.lower().replace("’", "'"))


def _grams(tokens: Sequence[str]) -> Iterable[str]:
    words = [t for t in tokens if t[0].isalnum()]
    yield from ("w " + t for t in tokens)
    yield from ("b " + a + " " + b for a, b in itertools.pairwise(tokens))
    for word in words:
        padded = " " + word + " "
        for n in range(CHAR_RANGE[0], CHAR_RANGE[1] + 1):
            for i in range(len(padded) - n + 1):
                yield "c " + padded[i : i + n]


# What the dense cues need of a token: its VADER valence (None if not in the lexicon), whether it
# negates what follows, whether it is alphabetic. The featurizer keeps it in its token cache.
Valence = tuple[float | None, bool, bool]


def _valence(token: str) -> Valence:
    return vader_lexicon().get(token), token in _NEGATORS, token.isalpha()


def dense_cues(text: str, tokens: Sequence[str]) -> list[float]:
    """The dense cue values, each roughly within [−1, 1]."""
    return valence_cues(text, [_valence(t) for t in tokens])


def valence_cues(text: str, tokens: Sequence[Valence]) -> list[float]:
    pos = neg = 0.0
    high = low = 0.0
    negated = False
    for valence, negator, alphabetic in tokens:
        if valence is not None:
            if negated:
                valence = -0.74 * valence  # VADER's own negation dampening
            pos += max(valence, 0.0)
            neg += min(valence, 0.0)
            high = max(high, valence)
            low = min(low, valence)
        negated = negator or (negated and alphabetic and valence is None)
    letters, upper = _letters(text)
    caps = upper / letters if letters else 0.0
    stripped = text.strip()
    return [
        math.tanh(pos / 4),
        math.tanh(neg / 4),
        high / 4,
        low / 4,
        min(text.count("!"), 5) / 5,
        min(text.count("?"), 5) / 5,
        caps,
        min(math.log1p(len(tokens)) / 5, 1.0),
        1.0 if stripped[:1].isupper() else 0.0,
        1.0 if stripped.endswith(".") else 0.0,
    ]


# ASCII bytes that are not letters, and not capital letters: deleted, what is left is counted.
_NOT_ALPHA: Final = bytes(c for c in range(128) if not chr(c).isalpha())
_NOT_UPPER: Final = bytes(c for c in range(128) if not (chr(c).isalpha() and chr(c).isupper()))
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]+")


def _letters(text: str) -> tuple[int, int]:
    """How many characters of ``text`` are letters (``str.isalpha``) and how many of those are
    capitals (``str.isupper``). The ASCII part is counted by ``bytes.translate`` in C (a Python
    test per character cost 3x more); the few other characters (curly quotes, accents, emoji)
    one by one."""
    raw = text.encode("ascii", "ignore")
    letters = len(raw.translate(None, _NOT_ALPHA))
    upper = len(raw.translate(None, _NOT_UPPER))
    if len(raw) != len(text):
        rest = "".join(_NON_ASCII.findall(text))
        letters += sum(map(str.isalpha, rest))
        upper += sum(map(str.isupper, filter(str.isalpha, rest)))
    return letters, upper


def additive_weights(
    tokens: Sequence[str], entries: Sequence[tuple[_T, dict[str, _T], Valence]]
) -> list[tuple[_T, float]]:
    """The additive scheme's terms: each distinct token's entry and each distinct bigram's column
    (from ``entries[i][1]``, the columns of the tokens that may follow token ``i``), with the weight
    1 + log(its count) — sublinear term frequency per token rather than per gram, so that the
    message's features stay a weighted sum of per-token parts."""
    first: dict[str, _T] = {}
    counts: Counter[str] = Counter()
    for token, (part, _, _) in zip(tokens, entries, strict=True):
        first.setdefault(token, part)
        counts[token] += 1
    pairs: Counter[_T] = Counter(
        c
        for (_, after, _), b in zip(entries[:-1], tokens[1:], strict=True)
        if (c := after.get(b)) is not None
    )
    return [(first[t], 1.0 + math.log(n)) for t, n in counts.items()] + [
        (c, 1.0 + math.log(n)) for c, n in pairs.items()
    ]


def _counted(columns: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """The distinct columns (ascending) and how often each occurs: ``np.unique`` without its
    general-purpose overhead, which costs more than the sort on a message's few hundred columns."""
    if not len(columns):
        return columns, np.zeros(0)
    ordered = np.sort(columns)
    edges = np.flatnonzero(np.concatenate((_TRUE, ordered[1:] != ordered[:-1], _TRUE)))
    return ordered[edges[:-1]], (edges[1:] - edges[:-1]).astype(np.float64)


@dataclass(frozen=True)
class Vocabulary:
    """Feature strings with their IDF; index ``i`` is column ``i`` of every model's weights."""

    terms: tuple[str, ...]
    idf: npt.NDArray[np.float32]

    @property
    def width(self) -> int:
        return len(self.terms) + len(DENSE)

    @classmethod
    def build(
        cls, texts: Iterable[str], *, word_min_df: int = 2, char_min_df: int = 3, max_terms: int = 150_000
    ) -> Vocabulary:
        """Keep grams seen in enough documents; the most frequent ``max_terms`` if more remain."""
        df: Counter[str] = Counter()
        n_docs = 0
        for text in texts:
            n_docs += 1
            df.update(set(_grams(tokens_of(text))))
        kept = [
            (count, term)
            for term, count in df.items()
            if count >= (char_min_df if term.startswith("c ") else word_min_df)
        ]
        kept.sort(key=lambda pair: (-pair[0], pair[1]))  # ties by term: the same vocabulary every run
        kept = kept[:max_terms]
        kept.sort(key=lambda pair: pair[1])
        idf = np.array([math.log((1 + n_docs) / (1 + count)) + 1 for count, _ in kept], dtype=np.float16)
        # Stored as float16; training sees the same rounded values inference will.
        return cls(tuple(term for _, term in kept), idf.astype(np.float32))


class Featurizer:
    """Turns text into (column indices, values) over a ``Vocabulary`` plus the dense cues."""

    def __init__(self, vocabulary: Vocabulary, scheme: Scheme = "tfidf") -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown feature scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
        self.vocabulary = vocabulary
        self.scheme = scheme
        # Word grams by token and character grams by the gram itself (without "w "/"c "): a token
        # seen for the first time looks its ~20 grams up without building "c " + gram for each.
        self._words: dict[str, int] = {}
        self._chars: dict[str, int] = {}
        for i, term in enumerate(vocabulary.terms):
            kind = term[:2]
            if kind == "w ":
                self._words[term[2:]] = i
            elif kind == "c ":
                self._chars[term[2:]] = i
        self._idf = vocabulary.idf.astype(np.float64)
        # Each column's TF-IDF block: 0 for the word grams ("w ", "b "), 1 for the character grams.
        terms = vocabulary.terms
        self._block = np.fromiter((t.startswith("c ") for t in terms), np.intp, len(terms))
        self._dense_start = len(terms)
        self._dense_columns = np.arange(self._dense_start, self._dense_start + len(DENSE), dtype=np.intp)
        # Columns are kept as the bytes of intp arrays: a message's are joined with bytes.join and
        # read by one np.frombuffer, which touches less memory than concatenating arrays (this
        # runs on cold caches inside a decision). "b first second" is kept as first -> {second:
        # column}: a bigram costs two look-ups in small dicts, no string built per pair.
        self._bigrams: dict[str, dict[str, bytes]] = {}
        for i, term in enumerate(terms):
            if term.startswith("b "):
                first, _, second = term[2:].partition(" ")
                self._bigrams.setdefault(first, {})[second] = np.intp(i).tobytes()
        self._tokens: dict[str, tuple[bytes, dict[str, bytes], Valence]] = {}

    def features(self, text: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """The sparse columns (each once, ascending) with their values, then the dense cues'."""
        tokens = tokens_of(text)
        known = self._tokens
        entries = [known.get(t) or self._token(t) for t in tokens]
        # Whole blocks of columns per token, so the few hundred gram columns of a message are
        # counted by numpy, not one Python int at a time (moving ints into numpy costs more).
        parts = [columns for columns, _, _ in entries]
        if len(tokens) > 1:
            pairs = zip(entries[:-1], tokens[1:], strict=True)
            parts += [c for (_, after, _), b in pairs if (c := after.get(b)) is not None]
        if self.scheme == "additive":
            columns, values, squares = self._additive(tokens, entries)
        else:
            columns, counts = _counted(np.frombuffer(b"".join(parts), dtype=np.intp))
            values = (1.0 + np.log(counts)) * self._idf[columns]
            squares = values * values
        block = self._block[columns]
        # Each block normalised on its own; idf >= 1, so a block with a column has a norm > 0.
        values /= np.sqrt(np.bincount(block, weights=squares, minlength=2))[block]
        dense = np.asarray(valence_cues(text, [valence for _, _, valence in entries])) * DENSE_SCALE
        return (
            np.concatenate((columns, self._dense_columns)),
            np.concatenate((values, dense)).astype(np.float32),
        )

    def _additive(
        self, tokens: list[str], entries: list[tuple[bytes, dict[str, bytes], Valence]]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Columns, Σ weight · idf and Σ weight² · idf² per column, where every gram of a distinct
        token (or bigram) has the weight 1 + log(how often that token occurs)."""
        weighted = additive_weights(tokens, entries)
        parts = [columns for columns, _ in weighted]
        lengths = [len(columns) // _INTP for columns in parts]
        raw = np.frombuffer(b"".join(parts), dtype=np.intp)
        if not len(raw):
            return raw, np.zeros(0), np.zeros(0)
        order = np.argsort(raw, kind="stable")
        ordered = raw[order]
        weights = np.repeat(np.array([w for _, w in weighted]), lengths)[order]
        starts = np.flatnonzero(np.concatenate((_TRUE, ordered[1:] != ordered[:-1])))
        columns = ordered[starts]
        idf = self._idf[columns]
        values = np.add.reduceat(weights, starts) * idf
        squares = np.add.reduceat(weights * weights, starts) * idf * idf
        return columns, values, squares

    def token_columns(self, token: str) -> tuple[list[int], dict[str, bytes], Valence]:
        """``token``'s gram columns (with repeats), the bigram columns of the tokens that may follow
        it and its VADER reading (for ``signals/token_scores.py``, which keeps its own cache: a
        list, not the bytes this class caches, as it indexes once with them)."""
        return self._columns(token), self._bigrams.get(token, _NO_BIGRAMS), _valence(token)

    @property
    def words(self) -> list[str]:
        """The tokens that have a word gram in the vocabulary (seen in 2+ training texts)."""
        return list(self._words)

    @property
    def column_idf(self) -> npt.NDArray[np.float64]:
        return self._idf

    @property
    def column_block(self) -> npt.NDArray[np.intp]:
        """Per column: 0 for the word grams, 1 for the character grams."""
        return self._block

    @property
    def dense_start(self) -> int:
        return self._dense_start

    def _token(self, token: str, keep: bool = True) -> tuple[bytes, dict[str, bytes], Valence]:
        """A token's columns (its word gram and, for a word, its character grams), the bigram
        columns of the tokens that may follow it and its VADER reading; cached, as words repeat
        far more than they vary: most messages build no gram string at all."""
        entry = (
            np.array(self._columns(token), dtype=np.intp).tobytes(),
            self._bigrams.get(token, _NO_BIGRAMS),
            _valence(token),
        )
        if keep and len(self._tokens) < _WORD_CACHE:
            self._tokens[token] = entry
        return entry

    def _columns(self, token: str) -> list[int]:
        """Its word gram's column (if any) first, then its character grams' (a word's only)."""
        found = [c] if (c := self._words.get(token)) is not None else []
        if token[0].isalnum():
            padded = " " + token + " "
            grams = [
                padded[i : i + n]
                for n in range(CHAR_RANGE[0], CHAR_RANGE[1] + 1)
                for i in range(len(padded) - n + 1)
            ]
            found += [c for c in map(self._chars.get, grams) if c is not None]  # (a list: no generator)
        return found

    def matrix(self, texts: Sequence[str]) -> csr_matrix:
        """The training matrix: one row per text, the same values ``features`` gives."""
        indptr = [0]
        all_columns: list[npt.NDArray[np.intp]] = []
        all_values: list[npt.NDArray[np.float32]] = []
        for text in texts:
            columns, values = self.features(text)
            all_columns.append(columns)
            all_values.append(values)
            indptr.append(indptr[-1] + len(columns))
        return csr_matrix(
            (np.concatenate(all_values), np.concatenate(all_columns), np.asarray(indptr)),
            shape=(len(texts), self.vocabulary.width),
        )
