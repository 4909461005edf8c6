"""The fast tier's features are the TF-IDF its docstring defines, however they are computed.

``Featurizer.features`` counts a message's columns through per-token caches and one numpy sort;
here the same definition is spelt out plainly (every gram string built and counted with a
``Counter``, each block normalised on its own) and the two must agree on texts that exercise the
corners: a word repeated, grams shared between words, a bigram seen twice, tokens that are not in
the vocabulary, punctuation only, non-ASCII capitals, an empty text.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from tests.signals.corner_texts import TEXTS as _TEXTS
from tests.signals.corner_texts import TRAIN as _TRAIN

from tactful.signals import tokens as tokens_module
from tactful.signals.featurize import (
    DENSE,
    DENSE_SCALE,
    Featurizer,
    Vocabulary,
    _grams,
    _letters,
    dense_cues,
    tokens_of,
)
from tactful.signals.tokens import view_of


def _reference(vocabulary: Vocabulary, text: str, scheme: str = "tfidf") -> np.ndarray:
    index = {term: i for i, term in enumerate(vocabulary.terms)}
    tokens = tokens_of(text)
    counts = Counter(index[g] for g in _grams(tokens) if g in index)
    # additive: each distinct token's grams (its word gram, its character grams) and each distinct
    # bigram weighted by 1 + log(count); per column Σ w · idf, the norm √(Σ w² · idf²)
    terms = [(_grams([t]), n) for t, n in Counter(tokens).items()]
    terms += [([f"b {a} {b}"], n) for (a, b), n in Counter(itertools.pairwise(tokens)).items()]
    linear: Counter[int] = Counter()
    squared: Counter[int] = Counter()
    for grams, n in terms:
        for g in grams:
            if g in index:
                linear[index[g]] += 1.0 + math.log(n)
                squared[index[g]] += (1.0 + math.log(n)) ** 2
    vector = np.zeros(vocabulary.width)
    for is_char in (False, True):
        block = {c: k for c, k in counts.items() if vocabulary.terms[c].startswith("c ") == is_char}
        if scheme == "additive":
            values = {c: linear[c] * float(vocabulary.idf[c]) for c in block}
            norm = math.sqrt(sum(squared[c] * float(vocabulary.idf[c]) ** 2 for c in block)) or 1.0
        else:
            values = {c: (1.0 + math.log(k)) * float(vocabulary.idf[c]) for c, k in block.items()}
            norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        for c, v in values.items():
            vector[c] = v / norm
    vector[len(vocabulary.terms) :] = np.asarray(dense_cues(text, tokens)) * DENSE_SCALE
    return vector


@pytest.mark.parametrize("scheme", ["tfidf", "additive"])
@pytest.mark.parametrize("text", _TEXTS)
def test_features_are_the_defined_tf_idf(text: str, scheme: str) -> None:
    vocabulary = Vocabulary.build(_TRAIN * 3)
    featurizer = Featurizer(vocabulary, scheme)  # type: ignore[arg-type]
    for _ in range(2):  # the second time through the token caches
        columns, values = featurizer.features(text)
        assert len(set(columns.tolist())) == len(columns)
        found = np.zeros(vocabulary.width)
        found[columns] = values
        np.testing.assert_allclose(found, _reference(vocabulary, text, scheme), rtol=1e-6, atol=1e-7)


def test_the_schemes_differ_only_where_two_tokens_share_a_gram() -> None:
    vocabulary = Vocabulary.build(_TRAIN * 3)
    # "thank you": no gram twice; the repeated sentence: each token's grams only in that token
    for same in ("thank you", "thank you thank you thank you"):
        assert np.allclose(_reference(vocabulary, same), _reference(vocabulary, same, "additive"))
    shared = "where is my order"  # " o"/"r " … in two words
    assert not np.allclose(_reference(vocabulary, shared), _reference(vocabulary, shared, "additive"))


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="feature scheme"):
        Featurizer(Vocabulary.build(_TRAIN), "bm25")  # type: ignore[arg-type]


def test_the_caps_cue_counts_upper_case_letters_only() -> None:
    caps = DENSE.index("caps")
    for text, share in [("ABC def", 0.5), ("Ⓐ Ⓑ ab", 0.0), ("ÄRG übe", 0.5), ("123 !!", 0.0)]:
        assert dense_cues(text, tokens_of(text))[caps] == pytest.approx(share)


def test_remembered_token_readings_change_no_view() -> None:
    texts = [
        "@AcmeHelp my order is LATE. i want it NOW!! www.example.com is down",
        "i think I'm fine... OK? USA and GDPR are acronyms, <EMAIL_1> is not shouting",
        "@AcmeHelp my order is LATE. i want it NOW!! www.example.com is down",
    ]
    tokens_module._READINGS.clear()
    fresh = [view_of(t) for t in texts]  # the first and the third text: uncached, then cached
    assert fresh[0] == fresh[2]
    assert [view_of(t) for t in texts] == fresh
    view = fresh[0]
    # LATE and NOW shout; "i" is a lower-case pronoun; the mention starts no sentence, the link
    # starts one without counting as a lower-case start
    assert (view.caps_words, view.lowercase_i, view.sentences, view.lowercase_starts) == (2, 1, 3, 2)
    assert view.words[0] == "acmehelp" and view.sentence_starts == ("my", "i", "www.example.com")


def test_the_language_model_reads_remembered_words_as_their_grams() -> None:
    from tactful.signals import language_chars

    model = language_chars.load()
    if model is None:
        pytest.skip("no language artifact")
    index = {term: i for i, term in enumerate(model.terms)}
    for text in ["quiero hablar con una persona", "Mitarbeiter sprechen bitte", "hola hola hola", "123 !!"]:
        for _ in range(2):  # the second time through the remembered words
            found, evidence = model.probabilities(text)
            grams = language_chars.grams(text)
            assert evidence == len(grams)
            if not grams:
                assert found == {}
                continue
            rows = [index[g] for g in grams if g in index]
            total = model.log_p[rows].sum(axis=0) + (len(grams) - len(rows)) * model.unknown
            mean = total / len(grams) * language_chars.SHARPNESS * math.sqrt(len(grams))
            expected = np.exp(mean - mean.max())
            expected /= expected.sum()
            np.testing.assert_allclose(
                [found[lang] for lang in language_chars.LANGUAGES], expected, rtol=1e-6
            )


@pytest.mark.parametrize("text", ["can’t won't", "’ ’’ x’y", "l’été ’s", "I’M HERE’", "it's ’quoted’"])
def test_curly_and_straight_apostrophes_tokenise_alike(text: str) -> None:
    straight = text.replace("’", "'")
    assert tokens_of(text) == tokens_of(straight)
    assert all("’" not in token for token in tokens_of(text))


def test_letters_counts_as_isalpha_and_isupper() -> None:
    """The dense cues' letter and capital counts (ASCII by ``bytes.translate``, the rest one by
    one) equal a per-character ``str.isalpha`` / ``str.isupper`` count, on any mix."""
    rng = np.random.default_rng(11)
    alphabet = [chr(c) for c in range(0x250)] + list("’“😡ÄßΩⅫⒶǅ\u0301١")
    for _ in range(2000):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 40))))
        expected = (sum(map(str.isalpha, text)), sum(map(str.isupper, filter(str.isalpha, text))))
        assert _letters(text) == expected, repr(text)
