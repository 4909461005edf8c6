from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tactful.signals import LexiconTier

TIER = LexiconTier()
words = st.sampled_from(
    [
        "please",
        "thanks",
        "refund",
        "STILL",
        "not",
        "working",
        "!!!",
        "???",
        "again",
        "asap",
        "u",
        "lol",
        "Dear",
        "you people",
        "der",
        "la",
        "<EMAIL_1>",
        ":(",
        "😡",
        "i",
        "can't",
        "access",
        "order",
        "fraud",
        "?",
        ".",
    ]
)
text = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.lists(words, min_size=1, max_size=40).map(" ".join),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text)
def test_extract_is_total_and_in_range(message: str) -> None:
    s = TIER.extract(message)  # Signals validates every range itself; this checks nothing raises
    assert -1.0 <= s.valence <= 1.0
    assert all(0.0 <= v <= 1.0 for v in s.emotions.values())
    assert s.language in {"en", "es", "fr", "de", "pt", "it", "nl", "und"}


@settings(max_examples=100, deadline=None, derandomize=True)
@given(text)
def test_extract_is_deterministic(message: str) -> None:
    assert TIER.extract(message) == TIER.extract(message)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(words, min_size=1, max_size=20).map(" ".join))
def test_adding_a_complaint_never_raises_valence(message: str) -> None:
    base = TIER.extract(message).valence
    assert TIER.extract(message + " I was charged twice and it is still not working").valence <= base + 0.35
