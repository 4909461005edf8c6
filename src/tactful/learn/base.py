"""The learner hook: given what the policy allows, choose (or just observe) — never outside it.

The engine calls ``choose`` in its ``learner`` stage, ``log_write`` for the row written in the
decision's transaction, ``logged`` once the decision is stored, and
``outcome_recorded`` after each stored outcome (where a learner closes reward windows that are due).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

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

    def log_write(self, decision: Decision, choice: Choice) -> Callable[[Any], None] | None:
        """The learning log's row of this decision as a write on the decision's own transaction
        (called with its connection), so no decision is stored without its log; None when there
        is nothing to log or the learner's store cannot join that transaction."""
        ...

    def logged(self, decision: Decision, choice: Choice, *, written: bool = False) -> None:
        """The decision is stored: keep what learning and off-policy evaluation need (``written``:
        the ``log_write`` row committed with it already), and close reward windows that are due."""
        ...

    def outcome_recorded(self, outcome: Outcome, now: datetime) -> None: ...


class RulesOnly:
    """Mode ``off`` for everyone: the rules decide alone."""

    name = "rules"
    version = "rules-only"

    def choose(self, policy: CompiledPolicy, inp: PolicyInput, result: PolicyResult) -> Choice:
        return Choice(result)

    def log_write(self, decision: Decision, choice: Choice) -> Callable[[Any], None] | None:
        return None

    def logged(self, decision: Decision, choice: Choice, *, written: bool = False) -> None:
        return None

    def outcome_recorded(self, outcome: Outcome, now: datetime) -> None:
        return None
