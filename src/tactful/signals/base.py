"""The signal-tier interface (a tier turns already PII-tokenised text into ``Signals``) and the
sentence-encoder interface the heavy tiers are built on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tactful.domain import Signals

Vectors = npt.NDArray[np.float32]


class SignalTier(Protocol):
    name: str  # "lexicon", "fast", "transformer", "multilingual", ...
    version: str  # recorded in every decision's model_versions

    def extract(self, text: str) -> Signals: ...


@runtime_checkable
class Warms(Protocol):
    """A tier that can fill its caches ahead of traffic (start-up work instead of a slow first
    message; ``TierSelector.from_settings`` calls it)."""

    def warm(self) -> None: ...


class Encoder(Protocol):
    name: str  # the encoder's tier name, e.g. "embed", "transformer", "multilingual"
    version: str  # recorded in model_versions; heads remember the version they were trained on
    dim: int

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Shape (len(texts), dim), float32, rows L2-normalised (an empty text gives a zero row)."""
        ...


class TierUnavailable(Exception):
    """A signal tier or encoder cannot be loaded here: its optional extra is not installed or its
    artifact is missing. The message says what to install or rebuild; the engine skips the tier."""
