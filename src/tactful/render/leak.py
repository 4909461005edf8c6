"""Checking rendered text for personal data that should not be there."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A run of digits with the separators people write numbers with: "+44 (0)20 7946-0958", "4111 1111 ...".
_NUMBER_RUN = re.compile(r"\d[\d\s().+/-]*\d|\d")
_MIN_DIGITS = 6  # shorter numbers (a day, a count of days) match too much to mean anything


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def check_pii_leak(text: str, raw_values: Iterable[str]) -> list[str]:
    """The raw values (in the order given, once each) that appear in ``text``.

    A value matches case-insensitively with whitespace runs collapsed. A value with at least six digits
    (phone, card, account numbers) also matches when its digits appear inside one number in the text
    however it is punctuated: "4111 1111 1111 1111" is caught as "4111-1111-1111-1111", and
    "020 7946 0958" as "(020) 7946-0958" or "2079460958" (leading zeros dropped). Country-code
    rewrites ("+44 20 ...") are not recognised.
    """
    folded = " ".join(text.split()).casefold()
    number_runs: list[str] | None = None
    found: list[str] = []
    for value in raw_values:
        if value in found or not value.strip():
            continue
        if " ".join(value.split()).casefold() in folded:
            found.append(value)
            continue
        digits = _digits(value)
        if len(digits) < _MIN_DIGITS:
            continue
        if number_runs is None:
            number_runs = [_digits(m.group(0)) for m in _NUMBER_RUN.finditer(text)]
        # Phone numbers are written with or without the trunk prefix / country code: compare the
        # national significant part too.
        candidates = {digits, digits.lstrip("0")}
        if any(c and len(c) >= _MIN_DIGITS and c in run for c in candidates for run in number_runs):
            found.append(value)
    return found
