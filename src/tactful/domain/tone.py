"""The tone a reply should take: five numeric attributes in [0, 1] and a style label."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ToneAttribute = Literal["formality", "warmth", "empathy", "brevity", "directness"]
TONE_ATTRIBUTES: tuple[ToneAttribute, ...] = ("formality", "warmth", "empathy", "brevity", "directness")


class ToneProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    formality: float = Field(default=0.5, ge=0, le=1)
    warmth: float = Field(default=0.5, ge=0, le=1)
    empathy: float = Field(default=0.5, ge=0, le=1)
    brevity: float = Field(default=0.5, ge=0, le=1)
    directness: float = Field(default=0.5, ge=0, le=1)
    style: str = "neutral"

    def attributes(self) -> dict[ToneAttribute, float]:
        return {name: getattr(self, name) for name in TONE_ATTRIBUTES}
