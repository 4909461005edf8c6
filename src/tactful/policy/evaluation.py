"""The mutable scratchpad of one evaluation: the CEL context, rules fired and notes, in order."""

from __future__ import annotations

from dataclasses import dataclass, field

import cel

from tactful.domain import Channel
from tactful.policy.expressions import Expression, describe_error
from tactful.policy.facts import FactBuilder
from tactful.policy.rules import Rule


@dataclass(slots=True)
class Evaluation:
    ctx: cel.Context
    facts: FactBuilder
    decision_stages: frozenset[str]  # stages whose expressions read `decision`
    rules_fired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Conditions that do not read ``decision``, by rule index, with the note each made: shared by an
    #: input's first evaluation and a learner's re-runs of it with an arm, which can change only
    #: ``decision`` (``tone`` is the neutral tone wherever conditions are evaluated), so a re-run
    #: executes only the conditions that read it. None: nothing is kept.
    known: dict[int, tuple[bool, str | None]] | None = None

    def publish_decision(
        self, stage: str, *, channel: Channel | None, inbound: Channel, proactive: bool, action: str
    ) -> None:
        """Make the decision so far visible to ``stage``'s expressions (skipped if none reads it)."""
        if stage in self.decision_stages:
            self.facts.set_decision(
                self.ctx, channel=channel, inbound=inbound, proactive=proactive, action=action
            )

    def fire(self, rule_id: str) -> None:
        if rule_id not in self.rules_fired:
            self.rules_fired.append(rule_id)

    def matches(self, rule: Rule) -> bool:
        """Whether the rule's condition holds. An evaluation error is "not matched", never a crash."""
        if rule.when.always_true:
            return True
        known = self.known
        if known is not None and (found := known.get(rule.index)) is not None:
            if found[1] is not None:
                self.notes.append(found[1])
            return found[0]
        matched, note = self._execute(rule)
        if note is not None:
            self.notes.append(note)
        if known is not None and "decision" not in rule.when.needs:
            known[rule.index] = (matched, note)
        return matched

    def _execute(self, rule: Rule) -> tuple[bool, str | None]:
        try:
            result = rule.when.program.execute(self.ctx)
        except Exception as exc:  # the CEL binding raises KeyError, TypeError, RuntimeError, ... per error
            return False, f"rule {rule.id}: condition not evaluable ({describe_error(exc)}); not matched"
        if isinstance(result, bool):
            return result, None
        return False, f"rule {rule.id}: condition gave {type(result).__name__}, not a bool; not matched"

    def number(self, rule: Rule, attribute: str, expr: Expression) -> float | None:
        """A tone value expression's result, or None (with a note) when it is not a finite number."""
        try:
            result = expr.program.execute(self.ctx)
        except Exception as exc:  # as in matches(): an error skips this value, not the decision
            self.notes.append(f"rule {rule.id}: {attribute} not evaluable ({describe_error(exc)}); skipped")
            return None
        if isinstance(result, bool) or not isinstance(result, int | float) or result != result:
            self.notes.append(f"rule {rule.id}: {attribute} gave {result!r}, not a number; skipped")
            return None
        if result in (float("inf"), float("-inf")):
            self.notes.append(f"rule {rule.id}: {attribute} gave {result!r}; skipped")
            return None
        return float(result)
