"""The learner hook: given what the policy allows, choose (or just observe) — never outside it.

The engine calls ``choose`` in its ``learner`` stage, ``logged`` once the decision is stored, and
``outcome_recorded`` after each stored outcome (where a learner closes reward windows that are due).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tactful.domain import Decision, Outcome
from tactful.domain.decision import LearnerTrace
from tactful.policy.types import PolicyInput, PolicyResult

if TYPE_CHECKING:
    from tactful.policy.compiled import CompiledPolicy


@dataclass(frozen=True, slots=True)
class Choice:
    """The result the decision uses and, when a learner took part, what it did (``trace``).
    ``context`` is the learner's own payload between ``choose`` and ``logged``."""

    result: PolicyResult
    trace: LearnerTrace | None = None
    context: object = None


class Learner(Protocol):
    name: str
    version: str

    def choose(self, policy: CompiledPolicy, inp: PolicyInput, result: PolicyResult) -> Choice:
        """Return ``result`` or a variant that only uses an arm the policy allowed."""
        ...

    def logged(self, decision: Decision, choice: Choice) -> None:
        """The decision is stored: keep what learning and off-policy evaluation need."""
        ...

    def outcome_recorded(self, outcome: Outcome, now: datetime) -> None: ...


class RulesOnly:
    """Mode ``off`` for everyone: the rules decide alone."""

    name = "rules"
    version = "rules-only"

    def choose(self, policy: CompiledPolicy, inp: PolicyInput, result: PolicyResult) -> Choice:
        return Choice(result)

    def logged(self, decision: Decision, choice: Choice) -> None:
        return None

    def outcome_recorded(self, outcome: Outcome, now: datetime) -> None:
        return None
