"""Sentence and paragraph handling shared by the channel adapters, and shortening at clean boundaries.

The splitter is deliberately simple (terminal punctuation followed by whitespace): adapters see text
from our own templates or from an agent, not arbitrary prose, and a wrong split only changes where a
paragraph or an SSML ``<s>`` breaks — never what is said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

ELLIPSIS = "..."  # ASCII on purpose: "…" is not in GSM-7 and would force a whole SMS into UCS-2

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=\S)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_LINE_SPACES = re.compile(r"\s*\n\s*")
_TRAILING_JOINERS = " \t\n,;:-–—(/&"


def tidy(text: str) -> str:
    """Collapse runs of spaces and trim each line, keeping paragraph breaks."""
    paragraphs = [_SPACES.sub(" ", _LINE_SPACES.sub(" ", p)).strip() for p in _PARAGRAPH_BREAK.split(text)]
    return "\n\n".join(p for p in paragraphs if p)


def split_paragraphs(text: str) -> list[str]:
    return [p for p in (q.strip() for q in _PARAGRAPH_BREAK.split(text)) if p]


def _flat(paragraph: str) -> str:
    """The paragraph on one line, runs of spaces collapsed. Most text has no newline, tab, no-break
    space or double space, and is returned as it is (the substitutions cost more than the checks)."""
    if "\n" in paragraph:
        paragraph = _LINE_SPACES.sub(" ", paragraph)
    if "  " in paragraph or "\t" in paragraph or "\u00a0" in paragraph:
        paragraph = _SPACES.sub(" ", paragraph)
    return paragraph


def split_sentences(text: str) -> list[str]:
    """Sentences in order, across paragraphs, each stripped and with inner whitespace collapsed."""
    out: list[str] = []
    for paragraph in split_paragraphs(text):
        flat = _flat(paragraph)
        start = 0
        for match in _SENTENCE_END.finditer(flat):
            piece = flat[start : match.end()].strip()
            if piece:
                out.append(piece)
            start = match.end()
        tail = flat[start:].strip()
        if tail:
            out.append(tail)
    return out


def group(sentences: Sequence[str], per: int) -> list[str]:
    """Join sentences into as few paragraphs of at most ``per`` sentences as possible, balanced so the
    last one is not a lone orphan (7 sentences in threes → 3 + 2 + 2, not 3 + 3 + 1)."""
    count = len(sentences)
    if count == 0:
        return []
    paragraphs = -(-count // per)
    base, extra = divmod(count, paragraphs)
    out: list[str] = []
    start = 0
    for i in range(paragraphs):
        size = base + (1 if i < extra else 0)
        out.append(" ".join(sentences[start : start + size]))
        start += size
    return out


def _largest_fitting(count: int, build: Callable[[int], str], fits: Callable[[int, str], bool]) -> str | None:
    """The longest of ``count`` candidates (``build(i)``, increasing in length) that fits. ``fits`` is
    monotone over them (a shorter prefix never costs more), so a binary search is enough."""
    lo, hi, best = 0, count - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = build(mid)
        if fits(mid, candidate):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def shorten(text: str, fits: Callable[[str], bool]) -> tuple[str, bool]:
    """Return ``(text, False)`` if it fits, else the longest clean prefix that does and ``True``.

    Preference order: end at a sentence boundary; else at a word boundary with an ellipsis; else (one
    huge word) cut between code points with an ellipsis. Cuts are always between code points, so a
    surrogate pair or a GSM-7 escape pair is never split.
    """
    if fits(text):
        return text, False

    def check(_: int, candidate: str) -> bool:
        return bool(candidate) and candidate != ELLIPSIS and fits(candidate)

    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    best = _largest_fitting(len(ends), lambda i: text[: ends[i]].rstrip(), check)
    if best is not None:
        return best, True
    gaps = [m.start() for m in re.finditer(r"\s+", text)]
    best = _largest_fitting(len(gaps), lambda i: text[: gaps[i]].rstrip(_TRAILING_JOINERS) + ELLIPSIS, check)
    if best is not None:
        return best, True
    best = _largest_fitting(
        len(text) - 1, lambda i: text[: i + 1].rstrip(_TRAILING_JOINERS) + ELLIPSIS, check
    )
    return (best if best is not None else ""), True
