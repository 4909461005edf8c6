"""Urgency: urgent words, security events (fraud, stolen, locked out) and near deadlines."""

from __future__ import annotations

import re
from typing import Final

from tactful.signals.cues import Cues
from tactful.signals.phrases import Hits, noisy_or
from tactful.signals.tokens import TextView

URGENCY: Final = "urgency.urgency"
_DEADLINE_WORDS: Final = frozenset({"by", "before", "until", "till", "within", "in", "at", "for"})
_NEAR_TIMES: Final = frozenset(
    [
        "noon",
        "midnight",
        "tonight",
        "tomorrow",
        "eod",
        "cob",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
_TIME_RE = re.compile(r"\d{1,2}(?::\d{2})?(?:am|pm|h)|\d+(?:min|mins|minutes|hrs|hours|hour)")
_UNITS: Final = frozenset({"am", "pm", "min", "mins", "minutes", "minute", "hrs", "hours", "hour"})
_DEADLINE_WEIGHT: Final = 0.55


def _has_deadline(words: tuple[str, ...]) -> bool:
    """ "by 5pm", "within 2 hours", "before tomorrow", "by end of day"."""
    for position, word in enumerate(words[:-1]):
        if word not in _DEADLINE_WORDS:
            continue
        following = words[position + 1]
        if following in _NEAR_TIMES or (following == "end" and "day" in words[position + 2 : position + 5]):
            return True
        if following[:1].isdigit():
            if _TIME_RE.fullmatch(following):
                return True
            if position + 2 < len(words) and words[position + 2] in _UNITS:
                return True
    return False


def urgency_of(view: TextView, hits: Hits, cues: Cues) -> float:
    lexical = hits.score(URGENCY)
    deadline = _DEADLINE_WEIGHT if _has_deadline(view.words) else 0.0
    # punctuation only sharpens urgency that words already express
    emphasis = cues.exclaiming * 0.4 + cues.shouting * 0.3 if lexical or deadline else 0.0
    return noisy_or((lexical, deadline, emphasis))
