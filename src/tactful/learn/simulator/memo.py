"""Memoised policy evaluations and latent rewards for the simulator: the same figures, computed once.

Twenty thousand contacts come from a few segments × situations × inbound channels × fatigue counts,
so most policy inputs repeat in everything the policy reads; evaluating the policy (~0.2–0.4 ms) and
re-deriving every arm's exact expected reward per contact were a quarter of a run's time. The keys hold
everything the results depend on, so the figures are the same as without the memo (a test compares
them contact by contact).
"""

from __future__ import annotations

from collections.abc import Mapping

from tactful.domain import Channel, ToneAttribute
from tactful.learn.arms import Arm
from tactful.learn.simulator.world import Contact, World
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.local_time import resolve_clock
from tactful.policy.types import PolicyInput, PolicyResult


class PolicyMemo(CompiledPolicy):
    """The policy, with ``evaluate`` memoised for simulated inputs; handed to the strategies and to
    the learner (which re-evaluates for the arm it chose) in place of the policy itself.

    The key is everything the policy reads: the profile, preferences and signals (shared objects in
    the simulated world, so keyed by identity; the memo holds them, so an identity is never reused),
    the inbound channel and text, the features (the proactive count among them), the chosen channel
    and tone shift, and the local clock. The clock enters through quiet hours (and the local time
    written into a quiet-hours reason), or wholly when an expression reads ``now``."""

    __slots__ = ("_reads_now", "_results")

    def __init__(self, policy: CompiledPolicy) -> None:  # a copy of the policy, not a new one
        for name in CompiledPolicy.__slots__:
            object.__setattr__(self, name, getattr(policy, name))
        self._reads_now = policy.reads("now")
        self._results: dict[tuple[object, ...], tuple[PolicyResult, tuple[object, ...]]] = {}

    def evaluate(
        self,
        inp: PolicyInput,
        *,
        channel: Channel | None = None,
        tone_shift: Mapping[ToneAttribute, float] | None = None,
    ) -> PolicyResult:
        clock = resolve_clock(inp)
        local = clock.local
        if self._reads_now:
            when: object = (local.isoweekday(), local.hour, local.minute, clock.in_quiet_hours)
        elif clock.in_quiet_hours:
            when = (True, local.hour, local.minute)
        else:
            when = False
        held = (inp.profile, inp.preferences, inp.signals)
        key = (
            *map(id, held),
            inp.message.channel,
            inp.message.text,
            tuple(inp.features.items()),
            when,
            clock.notes,
            channel,
            tuple(tone_shift.items()) if tone_shift else None,
        )
        found = self._results.get(key)
        if found is None:
            found = (super().evaluate(inp, channel=channel, tone_shift=tone_shift), held)
            self._results[key] = found
        return found[0]


class RewardMemo:
    """``world.expected_reward`` keyed by what it depends on: the segment, the drift phase, the
    situation, the local hour, the arm, the proactive count and the share of the style realised."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._values: dict[tuple[object, ...], float] = {}

    def expected(self, contact: Contact, arm: Arm, count: int, tone: Mapping[str, float]) -> float:
        world = self._world
        key = (
            contact.customer.segment,
            world.phase(contact),
            contact.situation,
            contact.local_hour,
            arm,
            count,
            tone.get(arm.style, 1.0),
        )
        found = self._values.get(key)
        if found is None:
            found = world.expected_reward(contact, arm, count, tone)
            self._values[key] = found
        return found
