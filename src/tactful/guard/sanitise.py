"""Text normalisation: the first thing every inbound message goes through.

Everything downstream (PII detection, injection heuristics, signal lexicons) assumes text that is
NFKC-normalised, free of invisible characters and bounded in size, so this module is the single
place that enforces it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tactful.errors import InputRejected


@dataclass(frozen=True)
class GuardLimits:
    max_chars: int = 4000  # counted after normalisation
    #: A pre-check on the raw UTF-8 input, before any work is done on it (at least 4 bytes per
    #: allowed character, so it never refuses text the character limit would accept once normalised
    #: unless it carries that many invisible characters); refused with the same code and message.
    max_bytes: int = 16384


@dataclass(frozen=True)
class Sanitised:
    text: str
    hidden_removed: int  # zero-width, bidi-control, tag and variation-selector characters removed


# Invisible characters that change nothing a human sees but can smuggle or reorder text: zero-width
# spaces/joiners, bidi embeddings/overrides/isolates, word joiner and invisible operators, the BOM,
# Unicode tag characters (U+E0000 block, "ASCII smuggling") and variation selectors.
_HIDDEN = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0e\ufeff\uffa0\ufff0-\ufffb"
    "\U000e0000-\U000e0fff"
)
# The zero-width joiner and the emoji presentation selector are kept inside emoji sequences
# ("🤦🏽\u200d♂️" is one glyph): there they hide nothing, and stripping them would split the emoji.
_EMOJI = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f"
    "\u2b00-\u2bff\U0001f000-\U0001faff"
)
_JOINER = f"(?<![{_EMOJI}])\u200d|\u200d(?![{_EMOJI}])|(?<![{_EMOJI}#*0-9])\ufe0f"
# The rest of Unicode's Cc and Cf categories (checked against unicodedata in the tests).
_OTHER_CONTROL_OR_FORMAT = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
)
_HIDDEN_RE = re.compile(f"[{_HIDDEN}]|{_JOINER}")
_CONTROL_RE = re.compile(f"[{_OTHER_CONTROL_OR_FORMAT}]+")
# Line breaks in all their spellings (CRLF, CR, NEL, line/paragraph separator, VT, FF) become "\n".
_NEWLINE_RE = re.compile("\r\n|[\r\x85\u2028\u2029\x0b\x0c]")
# runs of two or more horizontal whitespace characters, or any single one that is not a space
_HSPACE_RE = re.compile(r"[^\S\n]{2,}|[^\S \n]")
_SPACE_AROUND_NL_RE = re.compile(r" ?\n ?")
_MANY_NL_RE = re.compile(r"\n{3,}")


def too_long(limits: GuardLimits) -> str:
    """The one message for text over the limit, however it was found to be."""
    return f"text is longer than the limit of {limits.max_chars} characters"


def sanitise(text: str, limits: GuardLimits) -> Sanitised:
    """Normalise ``text`` or raise ``InputRejected`` (``invalid_text``, ``text_too_long``, ``text_empty``)."""
    # ASCII text (most messages) is its own UTF-8 length and already NFKC-normalised: no encoding
    # and no normalisation check to run.
    ascii_only = text.isascii()
    try:
        raw_bytes = len(text) if ascii_only else len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:  # lone surrogates, e.g. bad UTF-8 decoded with surrogateescape
        raise InputRejected("text contains invalid Unicode (lone surrogates)", code="invalid_text") from exc
    if raw_bytes > max(limits.max_bytes, 4 * limits.max_chars):
        # A cheap early refusal of what cannot fit: the limit callers see is the character one.
        raise InputRejected(too_long(limits), code="text_too_long")

    if not ascii_only and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    hidden = 0
    # Fast path: almost every message is printable apart from its newlines, and then there is no
    # control, format or odd whitespace character to find; skip those regex passes.
    if not text.replace("\n", "").isprintable():
        text = _NEWLINE_RE.sub("\n", text)
        length = len(text)
        text = _HIDDEN_RE.sub("", text)
        hidden = length - len(text)
        text = _CONTROL_RE.sub("", text)
        text = _HSPACE_RE.sub(" ", text)
    elif "  " in text:
        text = _HSPACE_RE.sub(" ", text)
    if "\n" in text:
        text = _SPACE_AROUND_NL_RE.sub("\n", text)
        if "\n\n\n" in text:
            text = _MANY_NL_RE.sub("\n\n", text)
    text = text.strip()

    if not text:
        raise InputRejected("text is empty after normalisation", code="text_empty")
    if len(text) > limits.max_chars:
        raise InputRejected(too_long(limits), code="text_too_long")
    return Sanitised(text=text, hidden_removed=hidden)
