"""The policy YAML schema as pydantic models (``extra="forbid"``: a misspelt key is an error, not a no-op).

These models describe the document exactly as written; compiling CEL and resolving precedence happens
in :mod:`tactful.policy.loader`. ``docs/policy.md`` documents every field.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

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


# ``no_contact``: say nothing at all (spam, bots); the turn is still decided, audited and logged.
RuleAction = Literal[
    "reply", "clarify", "handoff_human", "escalate", "offer_callback", "switch_channel", "no_contact"
]


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


# --- learning (issue 4): what the bandit may vary, how outcomes become a reward --------------------

_DURATION_PATTERN = r"^[0-9]{1,6}(s|m|h|d)$"
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The tone styles a learner may try; their shifts live in ``tactful.learn.arms``.
ToneStyleName = Literal["as_policy", "warmer", "briefer", "more_formal"]
OutcomeName = Literal[
    "delivered", "read", "replied", "csat", "resolved", "recontact", "escalated", "complaint", "opted_out"
]


def duration_seconds(text: str) -> int:
    """``"24h"`` → 86400. The schema has validated the pattern already."""
    return int(text[:-1]) * _DURATION_UNITS[text[-1]]


def _default_weights() -> dict[OutcomeName, float]:
    return {
        "delivered": 0.0,
        "read": 0.0,
        "replied": 0.2,
        "csat": 0.5,
        "resolved": 1.0,
        "recontact": -0.5,
        "escalated": -0.3,
        "complaint": -1.0,
        "opted_out": -2.0,
    }


def _default_styles() -> list[ToneStyleName]:
    return ["as_policy", "warmer", "briefer", "more_formal"]


class RewardSection(_Strict):
    # csat counts weight × (value − 3) / 2, so 1 star is −weight and 5 stars +weight.
    weights: dict[OutcomeName, Annotated[float, Field(ge=-10, le=10), AfterValidator(_finite)]] = Field(
        default_factory=_default_weights
    )
    window: str = Field(default="24h", pattern=_DURATION_PATTERN)
    recontact_within: str = Field(default="24h", pattern=_DURATION_PATTERN)
    default: Annotated[float, Field(ge=-10, le=10), AfterValidator(_finite)] = 0.0
    aggregate: Literal["sum", "max", "min"] = "sum"
    clip: tuple[float, float] = (-2.0, 2.0)
    # A first estimate before the window closes: the outcomes in by this horizon are learned as a
    # partial reward as soon as it passes, and the rest of the reward when the window closes
    # (docs/learning.md, "The early estimate"). null: learn only when the window closes.
    early: str | None = Field(default="3h", pattern=_DURATION_PATTERN)

    @model_validator(mode="after")
    def _clip_ordered(self) -> RewardSection:
        lo, hi = self.clip
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"clip must be [low, high] with low < high, got [{lo}, {hi}]")
        if duration_seconds(self.window) <= 0:
            raise ValueError("window must be longer than 0")
        if self.early is not None and not 0 < duration_seconds(self.early) < duration_seconds(self.window):
            raise ValueError("early must be longer than 0 and shorter than the window")
        return self


class LearningSection(_Strict):
    # off: rules only. shadow: rules decide, the bandit learns and logs its choice. live: the bandit
    # chooses among the arms the rules left. A per-tenant setting (`tactful learn mode`) overrides it.
    mode: Literal["off", "shadow", "live"] = "off"
    styles: Annotated[list[ToneStyleName], Field(min_length=1)] = Field(default_factory=_default_styles)
    # False: the learner keeps the policy's channel and only varies the tone style.
    learn_channel: bool = True
    explorer: Literal["squarecb", "epsilon"] = "squarecb"
    epsilon: Annotated[float, Field(ge=0.0, le=0.5)] = 0.05
    snapshot_every: Annotated[int, Field(ge=1, le=1_000_000)] = 500
    reward: RewardSection = RewardSection()

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as false; that is what the author meant.
        return "off" if value is False else value

    @model_validator(mode="after")
    def _distinct_styles(self) -> LearningSection:
        if len(set(self.styles)) != len(self.styles):
            raise ValueError("a style is listed twice")
        if "as_policy" not in self.styles:
            raise ValueError("styles must include as_policy (the rules' own tone, which shadow mode logs)")
        return self


# --- replies (issue 10): which languages the tenant answers in -----------------------------------------

_LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
LanguageCode = Annotated[str, Field(pattern=_LANGUAGE_PATTERN)]


def _shipped_languages() -> list[str]:
    return ["en", "es", "de", "fr", "it", "pt"]


class RepliesSection(_Strict):
    """The reply language: the message's detected language when the detector is at least
    ``detect_min_confidence`` sure, else the customer profile's, else ``default_language``. A
    language outside ``languages`` (or without templates) is ``unsupported_language``'s case:
    ``default_language`` replies in the default language, ``handoff`` hands the turn to a person
    (with a holding reply in the default language)."""

    default_language: LanguageCode = "en"
    languages: Annotated[list[LanguageCode], Field(min_length=1)] = Field(default_factory=_shipped_languages)
    unsupported_language: Literal["default_language", "handoff"] = "default_language"
    detect_min_confidence: UnitFloat = 0.6

    @model_validator(mode="after")
    def _default_is_listed(self) -> RepliesSection:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("a language is listed twice")
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} must be one of languages")
        return self


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
    learning: LearningSection = LearningSection()
    replies: RepliesSection = RepliesSection()
