from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tactful.errors import InputRejected
from tactful.guard import GuardLimits, detect_pii, guard, sanitise

# Valid text: any code point except lone surrogates.
valid_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)

# Text built from pieces likely to contain PII next to noise, so the replacement paths get exercised.
pii_pieces = st.sampled_from(
    [
        "jane@example.com",
        "J.Doe@mail.example.org",
        "+44 20 7946 0958",
        "(555) 123-4567",
        "07700 900123",
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "123-45-6789",
        "AB 12 34 56 C",
        "order #12345678",
        "2024-01-15",
        "$1,234.56",
    ]
)
filler = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
pii_text = st.lists(st.one_of(pii_pieces, filler), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(valid_text)
def test_guard_only_ever_raises_input_rejected(text: str) -> None:
    try:
        result = guard(text)
    except InputRejected as exc:
        assert exc.code in {"text_empty", "text_too_long", "invalid_text"}
        return
    assert 0.0 <= result.injection <= 1.0
    assert result.text == result.text.strip()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(pii_text)
def test_tokens_appear_and_raw_values_are_gone(text: str) -> None:
    try:
        result = guard(text)
    except InputRejected:
        return
    for finding in result.pii:
        assert finding.token in result.text
        assert finding.token in result.vault
    for token, raw in result.vault.items():
        assert raw not in result.text, (token, raw)
    assert len({f.token for f in result.pii}) == len(result.pii)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(pii_text)
def test_spans_do_not_overlap_and_match_their_text(text: str) -> None:
    spans = detect_pii(text)
    for span in spans:
        assert text[span.start : span.end] == span.value
    for left, right in itertools.pairwise(spans):
        assert left.end <= right.start


@settings(max_examples=200, deadline=None, derandomize=True)
@given(valid_text)
def test_sanitise_is_idempotent(text: str) -> None:
    try:
        first = sanitise(text, GuardLimits())
    except InputRejected:
        return
    assert sanitise(first.text, GuardLimits()).text == first.text
