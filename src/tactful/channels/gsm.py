"""SMS encoding and segmentation: GSM 03.38 (GSM-7) versus UCS-2, and how a text splits into segments.

Sizes are the ones carriers bill by. A single GSM-7 message holds 160 septets; once a text needs more
than one message, each part loses 7 septets to the concatenation header (UDH) and holds 153. UCS-2
holds 70 UTF-16 code units alone and 67 per part. Characters in the GSM-7 extension table are sent
as an escape plus the character, so they cost two septets, and the two halves must travel in the same
segment. Characters outside the Basic Multilingual Plane (most emoji) are surrogate pairs in UCS-2:
two code units that must also stay together.
"""

from __future__ import annotations

from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# The GSM 03.38 basic character set (the ESC code point itself is not a character you can send).
GSM7_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus itself.
GSM7_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")

SINGLE_LIMIT: Final[dict[Encoding, int]] = {"GSM-7": 160, "UCS-2": 70}
PART_LIMIT: Final[dict[Encoding, int]] = {"GSM-7": 153, "UCS-2": 67}


_GSM7_ALL: Final[frozenset[str]] = GSM7_BASIC | GSM7_EXTENSION


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the basic or extension table, otherwise UCS-2."""
    return "GSM-7" if _GSM7_ALL.issuperset(text) else "UCS-2"


def char_cost(ch: str, encoding: Encoding) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) one code point takes."""
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _wide_count(text: str, encoding: Encoding) -> int:
    """How many code points cost two units (escape pairs or surrogate pairs)."""
    if encoding == "GSM-7":
        return sum(text.count(ch) for ch in GSM7_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)


def length_in_units(text: str, encoding: Encoding | None = None) -> int:
    enc = encoding or encoding_of(text)
    return len(text) + _wide_count(text, enc)


def split_segments(text: str, encoding: Encoding | None = None) -> tuple[str, ...]:
    """The segments a text is sent as. Splits only between code points, so escape pairs and surrogate
    pairs (each a single code point here) never straddle two segments."""
    if not text:
        return ()
    enc = encoding or encoding_of(text)
    wide = _wide_count(text, enc)
    if len(text) + wide <= SINGLE_LIMIT[enc]:
        return (text,)
    limit = PART_LIMIT[enc]
    if not wide:  # every code point costs one unit: plain slices (the common case, done at C speed)
        return tuple(text[i : i + limit] for i in range(0, len(text), limit))
    segments: list[str] = []
    start = 0
    used = 0
    for i, ch in enumerate(text):
        cost = char_cost(ch, enc)
        if used + cost > limit:
            segments.append(text[start:i])
            start, used = i, 0
        used += cost
    segments.append(text[start:])
    return tuple(segments)


def segment_count(text: str) -> int:
    return len(split_segments(text))


def max_units(encoding: Encoding, segments: int) -> int:
    """How many units fit in at most ``segments`` segments (a lower bound for pair-aware splitting)."""
    if segments <= 1:
        return SINGLE_LIMIT[encoding]
    return PART_LIMIT[encoding] * segments
