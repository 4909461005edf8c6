"""One named injection marker: a compiled pattern with a weight, and the cheap pre-check that
decides whether the pattern is worth running on a message at all."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Marker:
    name: str
    weight: float
    pattern: re.Pattern[str]  # matched against the lower-cased text unless ``case_sensitive``
    triggers: frozenset[str]  # at least one of these words must occur; empty means use ``gate``
    gate: Callable[[str, list[str]], bool] | None = None  # (lower-cased text, words) → worth scanning
    case_sensitive: bool = False


def words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())
