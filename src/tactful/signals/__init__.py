"""Signal tiers: turn (already PII-tokenised) text into ``Signals``.

``default_tier()`` is the tier the engine uses when none is given: the lexicon tier, built once per
process on first use (loading VADER and the word lists takes a few tens of milliseconds).
"""

from __future__ import annotations

from functools import cache

from tactful.signals.base import SignalTier
from tactful.signals.lexicon import LexiconTier

__all__ = ["LexiconTier", "SignalTier", "default_tier"]


@cache
def default_tier() -> SignalTier:
    return LexiconTier()
