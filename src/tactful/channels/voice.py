"""Voice: plain spoken sentences for text-to-speech, with SSML marking sentences and pauses.

Listeners cannot re-read, so long sentences are split (at a natural joint where there is one) and
anything that only makes sense on a screen (links, markdown) is removed before speaking.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from tactful.channels.base import FitOnly, require_text
from tactful.channels.sentences import split_paragraphs, split_sentences
from tactful.domain import Channel, Reply, ToneProfile
from tactful.errors import InputRejected

_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MD_LINE_PREFIX = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|>[ \t]*|\d+[.)][ \t]+)", re.MULTILINE)
_MD_MARKS = re.compile(r"\*\*|\*|`+|~~|(?<!\w)_+(?=\w)|(?<=\w)_+(?!\w)")
# Characters XML 1.0 forbids outright; SSML parsers reject the whole document over one of them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MD_MARK_CHARS = ("*", "`", "~~", "_")
_JOINT_WORDS = frozenset({"and", "but", "so", "because", "which", "while", "then"})
_TRAILING = " ,;:-"
_QUOTES = {'"': "&quot;", "'": "&apos;"}


def speakable(text: str) -> str:
    """Drop links, markdown and XML-invalid characters, keeping paragraph breaks."""
    out = _XML_INVALID.sub("", text)
    # Each pattern runs only when its marker character is present: most replies have none, and the
    # markdown pattern's look-arounds are slow to scan a whole text with.
    if "](" in out:
        out = _MD_LINK.sub(r"\1", out)
    if "://" in out or "www." in out.lower():
        out = _URL.sub("our website", out)
    out = _MD_LINE_PREFIX.sub("", out)
    if any(mark in out for mark in _MD_MARK_CHARS):
        out = _MD_MARKS.sub("", out)
    return out


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _end(text: str) -> str:
    text = text.rstrip(_TRAILING)
    if not text:
        return ""
    return text if text[-1:] in (".", "!", "?") else text + "."


def short_sentences(sentence: str, max_words: int) -> list[str]:
    """Split a sentence longer than ``max_words`` words, preferring a comma, semicolon or conjunction."""
    out: list[str] = []
    words = sentence.split()
    while len(words) > max_words:
        cut = max_words
        floor = max(3, max_words // 2)
        for k in range(max_words, floor - 1, -1):  # cut after word k: the latest natural joint wins
            if words[k - 1][-1:] in (",", ";", ":") or words[k].lower() in _JOINT_WORDS:
                cut = k
                break
        out.append(_end(" ".join(words[:cut])))
        words = words[cut:]
        words[0] = _capitalise(words[0])
    out.append(_end(" ".join(words)))
    return [s for s in out if s]


class VoiceChannel(FitOnly):
    def __init__(self, *, max_words: int = 20) -> None:
        if max_words < 6:
            raise ValueError("max_words must be at least 6")
        self.channel = Channel.VOICE
        self._max_words = max_words

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        require_text(text, self.channel)
        paragraphs: list[list[str]] = []
        for paragraph in split_paragraphs(speakable(text)):
            sentences = [
                s for raw in split_sentences(paragraph) for s in short_sentences(raw, self._max_words)
            ]
            if sentences:
                paragraphs.append(sentences)
        if not paragraphs:
            raise InputRejected("nothing speakable is left once links and markup are removed")
        # An empathetic, unhurried reply pauses a little longer; a brief one keeps the pace up.
        pause = 50 * round((250 + 200 * tone.empathy - 100 * tone.brevity) / 50)
        sentence_break = f'<break time="{pause}ms"/>'
        paragraph_break = f'<break time="{2 * pause}ms"/>'
        ssml = (
            "<speak>"
            + paragraph_break.join(
                sentence_break.join(f"<s>{escape(s, _QUOTES)}</s>" for s in p) for p in paragraphs
            )
            + "</speak>"
        )
        spoken = " ".join(s for p in paragraphs for s in p)
        return Reply(channel=self.channel, text=spoken, ssml=ssml)
