"""How much of each tone style the policy actually lets through, for the simulated rewards.

A style is a nominal shift of tone attributes (``STYLE_SHIFTS``); the policy's clamps and brand bounds
may swallow part or all of it. The simulator credits a style's latent preference only in the share
that reached the reply, so a learner is not rewarded for a style the policy flattened.
"""

from __future__ import annotations

from collections.abc import Sequence

from tactful.learn.arms import STYLE_SHIFTS
from tactful.learn.simulator.world import Contact
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.schema import ToneStyleName
from tactful.policy.types import PolicyInput, PolicyResult


class RealisedTone:
    def __init__(self, policy: CompiledPolicy) -> None:
        self._policy = policy
        # The tone stage depends on the situation, the customer's segment, the inbound and the chosen
        # channel; re-running it per contact for every style would triple the simulator's cost.
        self._cache: dict[tuple[object, ...], dict[str, float]] = {}

    def of(
        self, contact: Contact, inp: PolicyInput, rules: PolicyResult, styles: Sequence[ToneStyleName]
    ) -> dict[str, float]:
        key = (contact.customer.segment, contact.situation, contact.inbound, rules.channel.primary)
        found = self._cache.get(key)
        if found is None:
            found = {}
            for style in styles:
                shift = STYLE_SHIFTS[style]
                if not shift:
                    continue
                moved = self._policy.evaluate(inp, channel=rules.channel.primary, tone_shift=shift)
                nominal = sum(abs(v) for v in shift.values())
                actual = sum(abs(getattr(moved.tone, attr) - getattr(rules.tone, attr)) for attr in shift)
                found[style] = min(actual / nominal, 1.0)
            self._cache[key] = found
        return found
