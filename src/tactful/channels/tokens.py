"""PII placeholder tokens (``<EMAIL_1>``, ``<NAME_2>``) as the guard leaves them in text.

Private channels may carry tokens: delivery swaps them back for the real values. Public channels must
not, because the swap would publish personal data; their adapter removes any token as a last line of
defence even though the renderer never inserts one there.
"""

from __future__ import annotations

import re
from collections.abc import Collection

PII_TOKEN = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")

_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?])")
_REPEATED_COMMAS = re.compile(r",\s*(?=[,.!?])")
_SPACES = re.compile(r"[ \t]{2,}")


def contains_token(text: str) -> bool:
    return PII_TOKEN.search(text) is not None


def strip_tokens(text: str, keep: Collection[str] = ()) -> str:
    """Remove every token (except those in ``keep``) and repair the spacing and punctuation it leaves
    behind ("Hi <NAME_1>," → "Hi,")."""
    out = text

    def drop(match: re.Match[str]) -> str:
        return match.group() if match.group() in keep else ""

    # Loop: removing one token (or tidying around it) can join its neighbours into a new token.
    while any(m.group() not in keep for m in PII_TOKEN.finditer(out)):
        out = PII_TOKEN.sub(drop, out)
        out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
        out = _REPEATED_COMMAS.sub("", out)
        out = _SPACES.sub(" ", out).strip()
    return out
