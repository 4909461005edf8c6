"""Per-token scores equal the heads' product with the additive features they were trained on.

``TokenScorer`` sums rows precomputed per token and bigram; training and evaluation multiply
``Featurizer.matrix`` by the weights. The two must agree (to float32 rounding) on texts with
repeated words and bigrams, grams shared between words, unknown tokens, punctuation only, an
empty text, and again once every row comes from the caches.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.signals.corner_texts import TEXTS
from tests.signals.corner_texts import TRAIN as _TRAIN

from tactful.signals.featurize import Featurizer, Vocabulary
from tactful.signals.heads import Head, HeadSet
from tactful.signals.token_scores import TokenScorer

_TEXTS = [
    *TEXTS,
    "I'm not happy, this is terrible and I want my money back now!!!",
    "where is my order? " * 90,  # occurrences past any table of weights kept
]


def _heads(width: int, columns: int = 7) -> HeadSet:
    rng = np.random.default_rng(7)
    heads = {
        "a": Head("a-fast", "1", "softmax", ("x", "y", "z"), 0, 3),
        "b": Head("b-fast", "1", "softmax", ("p", "q", "r"), 3, 6),
        "c": Head("c-fast", "1", "linear", ("score",), 6, 7, center=0.2, scale=2.0),
    }
    weights = rng.normal(0, 1, (width, columns)).astype(np.float16).astype(np.float32)
    return HeadSet(weights, rng.normal(0, 0.3, columns).astype(np.float32), heads, {"features": "additive"})


def test_per_token_scores_equal_the_trained_product() -> None:
    vocabulary = Vocabulary.build(_TRAIN * 3)
    featurizer = Featurizer(vocabulary, "additive")
    heads = _heads(vocabulary.width)
    scorer = TokenScorer(featurizer, heads)
    expected = np.asarray(featurizer.matrix(_TEXTS) @ heads.weights + heads.bias)
    for _ in range(2):  # the second pass reads every row from the caches
        found = np.vstack([scorer.scores(text) for text in _TEXTS])
        np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)


def test_the_tfidf_scheme_is_refused() -> None:
    vocabulary = Vocabulary.build(_TRAIN)
    with pytest.raises(ValueError, match="additive"):
        TokenScorer(Featurizer(vocabulary), _heads(vocabulary.width))


def test_a_tokens_columns_are_its_word_gram_then_its_character_grams() -> None:
    # The featurizer looks word and character grams up in two tables keyed without the "w "/"c "
    # prefix; the columns must be those of the prefixed terms, word gram first, repeats kept.
    vocabulary = Vocabulary.build(_TRAIN * 3)
    featurizer = Featurizer(vocabulary, "additive")
    column = {term: i for i, term in enumerate(vocabulary.terms)}
    for token in ("where", "order", "my", "!!", "?", "can't", "zzzz", "paket", "ärger", "ⓐ", "aaaa"):
        padded = f" {token} "
        grams = [f"c {padded[i : i + n]}" for n in range(2, 6) for i in range(len(padded) - n + 1)]
        expected = [column[g] for g in [f"w {token}", *(grams if token[0].isalnum() else [])] if g in column]
        assert featurizer.token_columns(token)[0] == expected, token
    assert any(len(featurizer.token_columns(t)[0]) > 1 for t in ("where", "order"))  # grams were found


def test_warmed_rows_are_the_rows_a_first_sight_makes() -> None:
    vocabulary = Vocabulary.build(_TRAIN * 3)
    featurizer = Featurizer(vocabulary, "additive")
    heads = _heads(vocabulary.width)
    warmed, cold = TokenScorer(featurizer, heads), TokenScorer(featurizer, heads)
    warmed.warm()
    assert featurizer.words and all(w in warmed._tokens for w in featurizer.words)
    for text in _TEXTS:  # one machine, the same code: the same numbers
        np.testing.assert_array_equal(warmed.scores(text), cold.scores(text))
