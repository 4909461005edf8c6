"""Arms: the (channel × tone style) pairs a learner may choose among — only those the policy left.

A tone style is a small shift applied inside the policy's tone stage *before* its clamps and brand
bounds (see ``CompiledPolicy.evaluate(tone_shift=...)``), so no style can take the tone outside what
the policy allows. ``as_policy`` is the rules' own tone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from tactful.domain import ActionType, Channel, ToneAttribute, continues_conversation
from tactful.policy.schema import ToneStyleName
from tactful.policy.types import PolicyResult

STYLE_SHIFTS: Mapping[ToneStyleName, Mapping[ToneAttribute, float]] = {
    "as_policy": {},
    "warmer": {"warmth": 0.2, "empathy": 0.15},
    "briefer": {"brevity": 0.25, "directness": 0.1},
    "more_formal": {"formality": 0.25, "warmth": -0.05},
}

#: Actions whose channel the learner may change. Others (callback, switch, handoff, escalate) name
#: their channel for a reason the rules know; the learner only varies their tone style.
CHANNEL_FREE_ACTIONS = frozenset({ActionType.REPLY, ActionType.CLARIFY})


@dataclass(frozen=True, slots=True, order=True)
class Arm:
    channel: Channel
    style: ToneStyleName
    #: ``channel/style``, as logged and shown; built once (a live decision reads every arm's key).
    key: str = field(init=False, compare=False, repr=False)
    #: The arm's example in VW's text format (``features.arm_line``), built once: every prediction
    #: sends every allowed arm's line.
    line: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.channel.value}/{self.style}")
        channel = self.channel.value
        object.__setattr__(self, "line", f"|A c={channel} s={self.style} cs={channel}_{self.style}")

    @classmethod
    def parse(cls, key: str) -> Arm:
        channel, _, style = key.partition("/")
        if style not in STYLE_SHIFTS:
            raise ValueError(f"unknown tone style {style!r} in arm {key!r}")
        return cls(Channel(channel), style)  # type: ignore[arg-type]


def allowed_arms(
    result: PolicyResult, styles: Sequence[ToneStyleName], *, learn_channel: bool = True
) -> tuple[Arm, ...]:
    """The arms the policy's result leaves, the rules' own arm first. Empty when there is no contact."""
    primary = result.channel.primary
    if primary is None:
        return ()
    channels: tuple[Channel, ...] = (primary,)
    if learn_channel and result.action.type in CHANNEL_FREE_ACTIONS:
        channels = (primary, *result.channel.fallbacks)
    return _arms(channels, tuple(styles))


@lru_cache(maxsize=1024)  # a tenant's decisions repeat a few channel orders: the same arm objects
def _arms(channels: tuple[Channel, ...], styles: tuple[ToneStyleName, ...]) -> tuple[Arm, ...]:
    ordered_styles: list[ToneStyleName] = ["as_policy", *(s for s in styles if s != "as_policy")]
    return tuple(Arm(c, s) for c in channels for s in ordered_styles)


def rules_arm(result: PolicyResult) -> Arm | None:
    """What the rules chose, as an arm."""
    return None if result.channel.primary is None else Arm(result.channel.primary, "as_policy")


def proactive_on(result: PolicyResult, channel: Channel, inbound: Channel) -> bool:
    """Whether ``result`` moved to ``channel`` (``moved_to``) reaches out on a channel the customer
    did not write on."""
    if channel is result.channel.primary:
        return result.proactive
    return not continues_conversation(inbound, channel)


def moved_to(result: PolicyResult, channel: Channel, inbound: Channel) -> PolicyResult:
    """``result`` with ``channel`` (one it allows) as the primary; the tone is left as it was."""
    if channel is result.channel.primary:
        return result
    allowed = tuple(c for c in (result.channel.primary, *result.channel.fallbacks) if c is not None)
    if channel not in allowed:
        raise ValueError(f"channel {channel.value!r} is not allowed by the policy for this input")
    choice = result.channel.model_copy(
        update={"primary": channel, "fallbacks": tuple(c for c in allowed if c is not channel)}
    )
    return result.model_copy(update={"channel": choice, "proactive": proactive_on(result, channel, inbound)})
