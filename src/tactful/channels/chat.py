"""Chat: short paragraphs that read well in a chat bubble."""

from __future__ import annotations

from tactful.channels.base import FitOnly, require_text
from tactful.channels.sentences import group, shorten, split_sentences
from tactful.domain import Channel, Reply, ToneProfile


class ChatChannel(FitOnly):
    def __init__(self, *, sentences_per_paragraph: int = 3, max_chars: int = 4000) -> None:
        # 4000 stays under the common widget/WhatsApp limits (4096) without knowing the exact provider.
        if sentences_per_paragraph < 1 or max_chars < 10:
            raise ValueError("sentences_per_paragraph must be >= 1 and max_chars >= 10")
        self.channel = Channel.CHAT
        self._per = sentences_per_paragraph
        self._max = max_chars

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        require_text(text, self.channel)
        body = "\n\n".join(group(split_sentences(text), self._per))
        body, truncated = shorten(body, lambda t: len(t) <= self._max)
        return Reply(channel=self.channel, text=body, truncated=truncated)
