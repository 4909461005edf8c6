"""The signal-tier interface. A tier turns (already PII-tokenised) text into ``Signals``."""

from __future__ import annotations

from typing import Protocol

from tactful.domain import Signals


class SignalTier(Protocol):
    name: str  # "lexicon", later "fast", "embed", "transformer"
    version: str  # recorded in every decision's model_versions

    def extract(self, text: str) -> Signals: ...


class TierUnavailable(Exception):
    """A signal tier or encoder cannot be loaded here: its optional extra is not installed or its
    artifact is missing. The message says what to install or rebuild; the engine skips the tier."""
