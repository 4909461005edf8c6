"""Register: the formality band a tone falls in, and the wording changes that come with it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum


class Register(IntEnum):
    CASUAL = 0
    NEUTRAL = 1
    FORMAL = 2


def register_of(formality: float, casual_below: float, formal_from: float) -> Register:
    if formality < casual_below:
        return Register.CASUAL
    if formality >= formal_from:
        return Register.FORMAL
    return Register.NEUTRAL


class ContractionExpander:
    """Expands contractions ("we'll" → "we will") keeping the first letter's case. Formal text uses it."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = {k.lower(): v for k, v in table.items()}
        if self._table:
            alternatives = "|".join(re.escape(k) for k in sorted(self._table, key=len, reverse=True))
            self._pattern: re.Pattern[str] | None = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
        else:
            self._pattern = None

    def expand(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group(0)
        expanded = self._table[found.lower()]
        if found[0].isupper() and expanded[0].islower():
            return expanded[0].upper() + expanded[1:]
        return expanded
