"""Typographic cues shared by several signals: shouting, punctuation runs, emoji and emoticons."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tactful.signals.tokens import TextView

_EMOJI_RE = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
_HAPPY_RE = re.compile(r"(?<![\w:])(?:[:;=8]-?[)\]dDpP3]|\^_?\^|<3)(?!\w)")
_SAD_RE = re.compile(r"(?<![\w:])(?:[:;=]'?-?[(\[/\\|]|T_T|;_;)(?![\w/])")
_SAD_EMOJI = frozenset("😢😭😞😔😟😠😡🤬😤😩😫☹🙁😒💔🤦")
_HAPPY_EMOJI = frozenset("😀😃😄😁😆😊🙂😍🥰😘👍🙏❤💕🎉🥳✅💯🙌👏😇")


@dataclass(frozen=True)
class Cues:
    shouting: float  # 0..1 from words in capitals
    exclaiming: float  # 0..1 from "!!" runs
    puzzled: float  # 0..1 from "??" runs
    emoji: int  # emoji and emoticons of any kind
    happy_marks: int
    sad_marks: int


def cues_of(view: TextView) -> Cues:
    text = view.text
    caps_ratio = view.caps_words / view.alpha_words if view.alpha_words else 0.0
    shouting = 0.8 if view.caps_words >= 2 and caps_ratio >= 0.5 else min(0.6, 0.2 * view.caps_words)
    happy = sad = emoji = 0
    if not text.isascii():
        for match in _EMOJI_RE.finditer(text):
            emoji += 1
            char = match.group()
            happy += char in _HAPPY_EMOJI
            sad += char in _SAD_EMOJI
    if ":" in text or ";" in text or "=" in text or "<3" in text or "^" in text or "T_T" in text:
        happy_marks = len(_HAPPY_RE.findall(text))
        sad_marks = len(_SAD_RE.findall(text))
        happy += happy_marks
        sad += sad_marks
        emoji += happy_marks + sad_marks
    return Cues(
        shouting=shouting,
        exclaiming=min(0.6, 0.3 * view.exclamation_runs + (0.1 if view.exclamations >= 3 else 0.0)),
        puzzled=min(0.5, 0.25 * view.question_runs),
        emoji=emoji,
        happy_marks=happy,
        sad_marks=sad,
    )
