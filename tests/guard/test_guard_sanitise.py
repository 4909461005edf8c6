from __future__ import annotations

import sys
import unicodedata

import pytest

from tactful.errors import InputRejected
from tactful.guard import GuardLimits, guard, sanitise
from tactful.guard.sanitise import _CONTROL_RE, _HIDDEN_RE

LIMITS = GuardLimits()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ｉｇｎｏｒｅ ａｌｌ", "ignore all"),  # NFKC folds fullwidth letters
        ("ﬁle №5", "file No5"),  # ligature and compatibility characters
        ("re\u200bfund", "refund"),  # zero-width space
        ("pay\u202emoc.live\u202c", "paymoc.live"),  # bidi override
        ("a\u2066b\u2069c", "abc"),  # bidi isolates
        ("soft\u00adhyphen", "softhyphen"),
        ("tag\U000e0069\U000e0067smuggle", "tagsmuggle"),  # Unicode tag characters
        ("bell\x07 and\x00nul", "bell andnul"),
        ("line1\r\nline2\rline3", "line1\nline2\nline3"),
        ("a\u2028b", "a\nb"),
        ("lots    of \t\t space", "lots of space"),
        ("  trim me  \n", "trim me"),
        ("para\n\n\n\n\nnext", "para\n\nnext"),
        ("tab\tinside", "tab inside"),
        ("spaces  \n  around", "spaces\naround"),
        ("\ufeffBOM first", "BOM first"),
    ],
)
def test_sanitise_golden(raw: str, clean: str) -> None:
    assert sanitise(raw, LIMITS).text == clean


def test_emoji_sequences_are_kept_and_not_counted_as_hidden() -> None:
    facepalm = "\U0001f926\U0001f3fd\u200d\u2642\ufe0f"
    result = sanitise(f"great {facepalm}", LIMITS)
    assert result.text == f"great {facepalm}"
    assert result.hidden_removed == 0


def test_hidden_characters_are_counted() -> None:
    assert sanitise("ig\u200bno\u200bre", LIMITS).hidden_removed == 2


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "text_empty"),
        ("   \n\t ", "text_empty"),
        ("\u200b\u200b", "text_empty"),
        ("x" * 4001, "text_too_long"),
        ("é" * 9000, "text_too_long"),  # 18000 bytes: over max_bytes before any work
        ("bad \udcff byte", "invalid_text"),
        ("\ud800", "invalid_text"),
    ],
)
def test_rejections(raw: str, code: str) -> None:
    with pytest.raises(InputRejected) as info:
        guard(raw)
    assert info.value.code == code
    assert info.value.status == 422


def test_length_limit_counts_after_normalisation() -> None:
    assert guard("a" * 4000 + "   ").text == "a" * 4000
    with pytest.raises(InputRejected):
        guard("x", GuardLimits(max_chars=0))
    with pytest.raises(InputRejected) as info:
        guard("ﷺ" * 300, GuardLimits(max_chars=4000))  # each expands to 18 characters under NFKC
    assert info.value.code == "text_too_long"


def test_every_control_and_format_character_is_covered() -> None:
    """The hand-written ranges must cover Unicode's Cc and Cf categories (except \\n and \\t)."""
    missing = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) not in ("Cc", "Cf") or char in "\n\t\r\x85\x0b\x0c\u200d\ufe0f":
            continue  # line breaks become "\n"; the joiner and VS16 are handled in emoji context
        if not (_HIDDEN_RE.fullmatch(char) or _CONTROL_RE.fullmatch(char)):
            missing.append(f"U+{code:04X}")
    assert missing == []
