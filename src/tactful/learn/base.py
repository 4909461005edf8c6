"""The learner hook: given what the policy allows, choose (or just observe) — never outside it."""

from __future__ import annotations

from typing import Protocol

from tactful.policy.types import PolicyInput, PolicyResult


class Learner(Protocol):
    name: str
    version: str

    def choose(self, inp: PolicyInput, result: PolicyResult) -> PolicyResult:
        """Return ``result`` or a variant of it that only uses channels/styles the policy allowed."""
        ...


class RulesOnly:
    """Mode ``off``: the rules decide alone."""

    name = "rules"
    version = "rules-only"

    def choose(self, inp: PolicyInput, result: PolicyResult) -> PolicyResult:
        return result
