"""Golden SMS encoding and segmentation cases (GSM 03.38 / UCS-2, single vs concatenated)."""

from __future__ import annotations

import pytest

from tactful.channels.gsm import encoding_of, length_in_units, split_segments

EURO = "€"  # GSM-7 extension table: escape + char = 2 septets
EMOJI = "😀"  # outside the BMP: a surrogate pair = 2 UCS-2 units
CYR = "ж"  # BMP, not GSM-7: 1 UCS-2 unit


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Hello, your parcel is on its way.", "GSM-7"),
        ("Price: £5 @ 10% off; Ñoño Øre ù ÄÖÜ ß É", "GSM-7"),
        ("Braces {} [] ~ \\ | ^ and €", "GSM-7"),
        ("ç is not in the basic table (only Ç is)", "UCS-2"),
        ("Curly ’quote’", "UCS-2"),
        ("acute ú is not GSM-7 (grave ù is)", "UCS-2"),
        (f"Emoji {EMOJI}", "UCS-2"),
        ("Привет", "UCS-2"),
        ("", "GSM-7"),
    ],
)
def test_encoding_detection(text: str, encoding: str) -> None:
    assert encoding_of(text) == encoding


@pytest.mark.parametrize(
    ("name", "text", "sizes"),
    [
        ("160 GSM-7 chars fit one segment", "a" * 160, [160]),
        ("161 GSM-7 chars need two: 153 + 8", "a" * 161, [153, 8]),
        ("306 = exactly two parts", "a" * 306, [153, 153]),
        ("307 spills into a third", "a" * 307, [153, 153, 1]),
        ("extension char at the single boundary: 158 + € = 160 septets", "a" * 158 + EURO, [159]),
        ("extension char pushes past 160: 159 + € = 161 septets", "a" * 159 + EURO, [153, 7]),
        ("escape pair never split: 152 + € would need 154", "a" * 152 + EURO + "a" * 10, [152, 11]),
        ("escape pair exactly fills a part: 151 + € = 153", "a" * 151 + EURO + "a" * 10, [152, 10]),
        ("70 UCS-2 units fit one segment", CYR * 70, [70]),
        ("71 UCS-2 units need two: 67 + 4", CYR * 71, [67, 4]),
        ("emoji counts 2 units: 68 + emoji = 70", CYR * 68 + EMOJI, [69]),
        ("emoji pushes past 70: 69 + emoji = 71", CYR * 69 + EMOJI, [67, 3]),
        ("surrogate pair never split: 66 + emoji needs 68", CYR * 66 + EMOJI + CYR * 5, [66, 6]),
        ("surrogate pair exactly fills a part: 65 + emoji = 67", CYR * 65 + EMOJI + CYR * 5, [66, 5]),
    ],
)
def test_segmentation_golden(name: str, text: str, sizes: list[int]) -> None:
    segments = split_segments(text)
    assert [len(s) for s in segments] == sizes, name  # sizes in code points
    assert "".join(segments) == text
    encoding = encoding_of(text)
    limit = 160 if encoding == "GSM-7" else 70
    part = 153 if encoding == "GSM-7" else 67
    for segment in segments:
        assert length_in_units(segment, encoding) <= (limit if len(segments) == 1 else part)


def test_units_count_escape_and_surrogate_pairs() -> None:
    assert length_in_units("a{b}€") == 8
    assert length_in_units(f"ж{EMOJI}") == 3
    assert split_segments("") == ()
