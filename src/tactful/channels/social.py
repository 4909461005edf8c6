"""Social networks: public posts (short, never any personal data) and private messages (DMs).

Public length is counted the way X/Twitter does (NFC code points; most Latin, punctuation and
general-punctuation characters weigh 1, everything else 2; a link counts as 23), but conservatively:
a link longer than 23 counts its real weight, and bare domains count as links, so a post we accept
is never rejected by the network.
"""

from __future__ import annotations

import re
import unicodedata

from tactful.channels.base import FitOnly, require_text
from tactful.channels.sentences import group, shorten, split_sentences
from tactful.channels.tokens import strip_tokens
from tactful.domain import PUBLIC_CHANNELS, Channel, Reply, ToneProfile

PUBLIC_MAX = 280
DM_MAX = 1000

# twitter-text v3 ranges that weigh 1; all other code points weigh 2.
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_LINK_WEIGHT = 23
_LINK_HINT = re.compile(r"\.[a-z]{2}|://|www\.", re.IGNORECASE)
_LINK = re.compile(
    r"(?:https?://\S+|www\.\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b(?:/\S*)?)", re.IGNORECASE
)


def _char_weight(ch: str) -> int:
    cp = ord(ch)
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _plain_weight(text: str) -> int:
    if not text or max(text) <= "\u10ff":  # all weigh 1: skip the per-character loop
        return len(text)
    return sum(_char_weight(ch) for ch in text)


def weighted_length(text: str) -> int:
    """The post length as X counts it, never under-counting."""
    text = unicodedata.normalize("NFC", text)
    if _LINK_HINT.search(text) is None:  # cheap pre-check: the full link pattern is slow on prose
        return _plain_weight(text)
    total, last = 0, 0
    for match in _LINK.finditer(text):
        total += _plain_weight(text[last : match.start()])
        total += max(_LINK_WEIGHT, _plain_weight(match.group(0)))
        last = match.end()
    return total + _plain_weight(text[last:])


class SocialChannel(FitOnly):
    def __init__(self, channel: Channel = Channel.SOCIAL, *, max_chars: int | None = None) -> None:
        if channel not in (Channel.SOCIAL, Channel.SOCIAL_DM):
            raise ValueError(f"SocialChannel handles social and social_dm, not {channel.value}")
        self.channel = channel
        self.public = channel in PUBLIC_CHANNELS
        self.max_chars = max_chars or (PUBLIC_MAX if self.public else DM_MAX)

    def length(self, text: str) -> int:
        return weighted_length(text) if self.public else len(text)

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        require_text(text, self.channel)
        text = unicodedata.normalize("NFC", text)
        if self.public:
            # Delivery swaps tokens back for real values: in a public post that would publish them.
            text = strip_tokens(text)
            body = " ".join(split_sentences(text))
        else:
            body = "\n\n".join(group(split_sentences(text), 3))
        require_text(body, self.channel)
        fitted, truncated = shorten(body, lambda t: self.length(t) <= self.max_chars)
        return Reply(channel=self.channel, text=fitted, truncated=truncated)
