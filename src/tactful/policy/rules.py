"""Compiled rules: the YAML rules with their CEL compiled and their file position kept for tie-breaks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tactful.domain import ActionType, Channel, ToneAttribute
from tactful.policy.expressions import Expression

#: Tie-break between action rules of equal priority: the more serious action wins.
ACTION_SEVERITY: dict[ActionType, int] = {
    ActionType.ESCALATE: 5,
    ActionType.HANDOFF_HUMAN: 4,
    ActionType.OFFER_CALLBACK: 3,
    ActionType.SWITCH_CHANNEL: 2,
    ActionType.CLARIFY: 1,
    ActionType.REPLY: 0,
    ActionType.NO_CONTACT: -1,  # the least severe: any other matched rule at its priority wins
}

ToneValue = float | Expression


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    index: int  # position in the file: the final tie-break everywhere
    line: int | None
    priority: int
    when: Expression
    reason: str


@dataclass(frozen=True, slots=True)
class ToneRule(Rule):
    scope: Literal["personal", "channel", "safety"]
    sets: tuple[tuple[ToneAttribute, ToneValue], ...]
    shifts: tuple[tuple[ToneAttribute, ToneValue], ...]
    clamps: tuple[tuple[ToneAttribute, float, float], ...]
    style: str | None
    overrides_brand: bool


@dataclass(frozen=True, slots=True)
class ChannelRule(Rule):
    effect: Literal["deny", "allow", "prefer"]
    channels: tuple[Channel, ...]


@dataclass(frozen=True, slots=True)
class ActionRule(Rule):
    action: ActionType
    channel: Channel | None  # switch_channel's target

    @property
    def required_channel(self) -> Channel | None:
        if self.action is ActionType.OFFER_CALLBACK:
            return Channel.VOICE
        return self.channel
