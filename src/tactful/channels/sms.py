"""SMS: GSM-7 where possible, split into carrier segments, capped at a number of segments."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

from tactful.channels.base import FitOnly, require_text
from tactful.channels.gsm import encoding_of, split_segments
from tactful.channels.sentences import shorten, split_sentences
from tactful.channels.tokens import PII_TOKEN, strip_tokens
from tactful.domain import Channel, Reply, ToneProfile

# Typographic punctuation that would force the whole message into UCS-2 (70 units a segment instead
# of 160) for no visible gain; replaced by its plain equivalent as SMS gateways commonly do.
_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2007": " ",
    }
)


def plain_punctuation(text: str) -> str:
    return text.translate(_PLAIN)


class SmsChannel(FitOnly):
    def __init__(self, *, max_segments: int = 3) -> None:
        if max_segments < 1:
            raise ValueError("max_segments must be at least 1")
        self.channel = Channel.SMS
        self.max_segments = max_segments

    def _fits(self, text: str) -> bool:
        return len(split_segments(text)) <= self.max_segments

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        require_text(text, self.channel)
        # One line: a line break costs a unit and reads as clutter on a phone.
        flat = " ".join(split_sentences(plain_punctuation(text)))
        fitted, truncated = shorten(flat, self._fits)
        encoding = encoding_of(fitted)
        return Reply(
            channel=self.channel,
            text=fitted,
            segments=split_segments(fitted, encoding),
            encoding=encoding,
            truncated=truncated,
        )


def _reveal_map(text: str, values: Mapping[str, str]) -> tuple[str, list[tuple[int, int, int, int]]]:
    """``text`` with every token replaced by its value, and the pieces it was built from as
    (delivered start, delivered end, stored start, stored end). Every token must have a value."""
    out: list[str] = []
    pieces: list[tuple[int, int, int, int]] = []
    at = stored_at = 0
    for match in PII_TOKEN.finditer(text):
        literal = text[stored_at : match.start()]
        value = values[match.group()]
        out.extend((literal, value))
        pieces.append((at, at + len(literal), stored_at, match.start()))
        at += len(literal)
        pieces.append((at, at + len(value), match.start(), match.end()))
        at += len(value)
        stored_at = match.end()
    tail = text[stored_at:]
    out.append(tail)
    pieces.append((at, at + len(tail), stored_at, len(text)))
    return "".join(out), pieces


def _stored_position(delivered: int, pieces: list[tuple[int, int, int, int]], literal: set[int]) -> int:
    for i, (d0, d1, s0, s1) in enumerate(pieces):
        if d0 <= delivered < d1:
            # Inside a value the whole token stays in the earlier segment (a name split across two
            # parts is still one name).
            return s0 + (delivered - d0) if i in literal else (s0 if delivered == d0 else s1)
    return pieces[-1][3]


def fit_revealed(reply: Reply, values: Mapping[str, str], max_segments: int) -> tuple[Reply, Reply]:
    """The SMS as stored (tokens) and as delivered (the customer's values), encoded and split as
    carriers count the text actually sent: a name with "ë" or "ł" turns the whole message into UCS-2
    (70 units, 67 per part), so encoding and segments are computed after re-insertion, and the text
    is shortened at a sentence boundary if the values push it past ``max_segments``.

    Tokens without a value are removed from both (they are not sent). The stored segments are the
    delivered ones with each value back as its token, so both split at the same places."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    stored_text = strip_tokens(reply.text, keep=values.keys())

    def fits(candidate: str) -> bool:
        return len(split_segments(_reveal_map(candidate, values)[0])) <= max_segments

    kept, cut = shorten(stored_text, fits)
    delivered_text, pieces = _reveal_map(kept, values)
    encoding = encoding_of(delivered_text)
    parts = split_segments(delivered_text, encoding)
    literal = {i for i in range(0, len(pieces), 2)}  # even pieces are literal text, odd ones values
    bounds = [0]
    at = 0
    for part in parts[:-1]:
        at += len(part)
        bounds.append(_stored_position(at, pieces, literal))
    bounds.append(len(kept))
    stored_parts = tuple(kept[a:b] for a, b in pairwise(bounds))
    truncated = reply.truncated or cut
    common = {"encoding": encoding, "truncated": truncated}
    stored = reply.model_copy(update={"text": kept, "segments": stored_parts, **common})
    delivered = reply.model_copy(update={"text": delivered_text, "segments": parts, **common})
    return stored, delivered
