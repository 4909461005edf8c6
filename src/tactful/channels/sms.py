"""SMS: GSM-7 where possible, split into carrier segments, capped at a number of segments."""

from __future__ import annotations

from tactful.channels.base import FitOnly, require_text
from tactful.channels.gsm import encoding_of, split_segments
from tactful.channels.sentences import shorten, split_sentences
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
