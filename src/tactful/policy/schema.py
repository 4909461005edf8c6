"""The policy YAML schema as pydantic models (``extra="forbid"``: a misspelt key is an error, not a no-op).

These models describe the document exactly as written; compiling CEL and resolving precedence happens
in :mod:`tactful.policy.loader`. ``docs/policy.md`` documents every field.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tactful.domain import Channel, ToneAttribute

_RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_DEFAULT_PREFERENCE = (Channel.CHAT, Channel.SOCIAL_DM, Channel.EMAIL, Channel.SMS, Channel.VOICE)


def _unit_interval(value: tuple[float, float]) -> tuple[float, float]:
    lo, hi = value
    if not (0.0 <= lo <= hi <= 1.0):
        raise ValueError(f"expected [low, high] with 0 <= low <= high <= 1, got [{lo}, {hi}]")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _no_duplicates(channels: list[Channel]) -> list[Channel]:
    seen: set[Channel] = set()
    for channel in channels:
        if channel in seen:
            raise ValueError(f"channel {channel.value!r} listed twice")
        seen.add(channel)
    return channels


Interval = Annotated[tuple[float, float], AfterValidator(_unit_interval)]
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0), AfterValidator(_finite)]
Delta = Annotated[float, Field(ge=-1.0, le=1.0), AfterValidator(_finite)]
ChannelList = Annotated[list[Channel], AfterValidator(_no_duplicates)]
# A tone value is a number, or a CEL expression (a string) evaluated against the facts.
SetValue = UnitFloat | str
ShiftValue = Delta | str


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ToneSpec(_Strict):
    formality: UnitFloat = 0.5
    warmth: UnitFloat = 0.5
    empathy: UnitFloat = 0.5
    brevity: UnitFloat = 0.5
    directness: UnitFloat = 0.5
    style: str = Field(default="neutral", min_length=1, max_length=64)


class Brand(_Strict):
    neutral_tone: ToneSpec = ToneSpec()
    bounds: dict[ToneAttribute, Interval] = Field(default_factory=dict)


class ChannelsSection(_Strict):
    preference: ChannelList = Field(default_factory=lambda: list(_DEFAULT_PREFERENCE))


class QuietHoursGuard(_Strict):
    # Added to the built-in intrusive channels (sms, voice); it cannot remove them.
    channels: ChannelList = Field(default_factory=lambda: [Channel.SMS, Channel.VOICE])


class FatigueCap(_Strict):
    proactive_per_day: int = Field(default=3, ge=0, le=1000)


class Intensity(_Strict):
    low: UnitFloat = 0.5
    standard: UnitFloat = 1.0
    full: UnitFloat = 1.0


class Guardrails(_Strict):
    quiet_hours: QuietHoursGuard = QuietHoursGuard()
    # Only "deny" exists: the key is there so a policy states it explicitly, not to switch it off.
    public_pii: Literal["deny"] = "deny"
    fatigue_cap: FatigueCap = FatigueCap()
    intensity: Intensity = Intensity()


class _RuleBase(_Strict):
    id: str = Field(pattern=_RULE_ID_PATTERN)
    when: str = Field(default="true", min_length=1)
    priority: int = Field(default=0, ge=-1000, le=1000)
    reason: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _reserved_prefix(self) -> _RuleBase:
        if self.id.startswith("guardrail."):
            raise ValueError("rule ids starting with 'guardrail.' are reserved for built-in guardrails")
        return self


class ToneRuleSpec(_RuleBase):
    kind: Literal["tone"]
    # personal: personalisation, scaled by intensity, skipped when it is off. channel / safety: apply to
    # everyone, unscaled (channel format; protecting an upset customer); the two differ only in intent.
    scope: Literal["personal", "channel", "safety"] = "personal"
    set_: dict[ToneAttribute, SetValue] = Field(default_factory=dict, alias="set")
    shift: dict[ToneAttribute, ShiftValue] = Field(default_factory=dict)
    clamp: dict[ToneAttribute, Interval] = Field(default_factory=dict)
    style: str | None = Field(default=None, min_length=1, max_length=64)
    overrides_brand: bool = False

    @model_validator(mode="after")
    def _has_effect(self) -> ToneRuleSpec:
        if not (self.set_ or self.shift or self.clamp or self.style):
            raise ValueError("a tone rule needs at least one of set, shift, clamp, style")
        if self.overrides_brand and not self.clamp:
            raise ValueError("overrides_brand only applies to clamp; this rule has no clamp")
        return self


class ChannelRuleSpec(_RuleBase):
    kind: Literal["channel"]
    effect: Literal["deny", "allow", "prefer"]
    channels: Annotated[ChannelList, Field(min_length=1)]


RuleAction = Literal["reply", "clarify", "handoff_human", "escalate", "offer_callback", "switch_channel"]


class ActionRuleSpec(_RuleBase):
    kind: Literal["action"]
    action: RuleAction
    channel: Channel | None = None

    @model_validator(mode="after")
    def _channel_only_for_switch(self) -> ActionRuleSpec:
        if self.action == "switch_channel" and self.channel is None:
            raise ValueError("action switch_channel needs `channel:` (the channel to switch to)")
        if self.action != "switch_channel" and self.channel is not None:
            raise ValueError("`channel:` is only valid with action switch_channel")
        return self


RuleSpec = Annotated[ToneRuleSpec | ChannelRuleSpec | ActionRuleSpec, Field(discriminator="kind")]


class PolicyDocument(_Strict):
    schema_version: Literal[1]
    tenant: str | None = None
    description: str = ""
    brand: Brand = Brand()
    channels: ChannelsSection = ChannelsSection()
    guardrails: Guardrails = Guardrails()
    thresholds: dict[
        Annotated[str, Field(pattern=_NAME_PATTERN)], Annotated[float, AfterValidator(_finite)]
    ] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(default_factory=list)
