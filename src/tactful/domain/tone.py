"""The tone a reply should take: five numeric attributes in [0, 1] and a style label; and the tone
the rendered reply was measured to have (``ToneProfile.measured``, on decisions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

ToneAttribute = Literal["formality", "warmth", "empathy", "brevity", "directness"]
TONE_ATTRIBUTES: tuple[ToneAttribute, ...] = ("formality", "warmth", "empathy", "brevity", "directness")


class MeasuredTone(BaseModel):
    """The tone the run-time scorer read from the reply as rendered (``tactful.render.tone_estimate``).

    ``scorer`` names the scorer version, so figures from different scorers are never compared;
    ``rerendered`` is True when the first rendering missed the target and a nearer variant was used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    formality: float = Field(ge=0, le=1)
    warmth: float = Field(ge=0, le=1)
    empathy: float = Field(ge=0, le=1)
    brevity: float = Field(ge=0, le=1)
    directness: float = Field(ge=0, le=1)
    scorer: str
    rerendered: bool = False

    def attributes(self) -> dict[ToneAttribute, float]:
        return {name: getattr(self, name) for name in TONE_ATTRIBUTES}


class ToneProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    formality: float = Field(default=0.5, ge=0, le=1)
    warmth: float = Field(default=0.5, ge=0, le=1)
    empathy: float = Field(default=0.5, ge=0, le=1)
    brevity: float = Field(default=0.5, ge=0, le=1)
    directness: float = Field(default=0.5, ge=0, le=1)
    style: str = "neutral"
    #: Set on a decision's tone only: what the reply as rendered measures (the fields above are the
    #: target). Absent from the JSON when unset, so documents stored before it existed serialise
    #: byte for byte as they were.
    measured: MeasuredTone | None = None

    def attributes(self) -> dict[ToneAttribute, float]:
        return {name: getattr(self, name) for name in TONE_ATTRIBUTES}

    @model_serializer(mode="wrap")
    def _omit_unmeasured(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.measured is None:
            data.pop("measured", None)
        return data
