"""A loaded policy, ready to evaluate: pure and deterministic, ``PolicyInput`` → ``PolicyResult``.

Stages run channel → action → tone so that tone rules can read ``decision.channel`` and
``decision.action``; ``rules_fired`` lists what fired in that order.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import cel

from tactful.domain import (
    ActionType,
    Channel,
    ChannelChoice,
    PersonalisationIntensity,
    ToneAttribute,
    ToneProfile,
    continues_conversation,
)
from tactful.policy.action_stage import choose_action
from tactful.policy.channel_stage import ChannelPlan, plan_channels
from tactful.policy.evaluation import Evaluation
from tactful.policy.expressions import Expression
from tactful.policy.facts import FactBuilder
from tactful.policy.guardrails import GuardrailConfig
from tactful.policy.local_time import resolve_clock
from tactful.policy.rules import ActionRule, ChannelRule, ToneRule
from tactful.policy.schema import PolicyDocument
from tactful.policy.tone_stage import compute_tone
from tactful.policy.types import PolicyInput, PolicyResult

PERSONALISATION_OFF_NOTE = "personalisation off: tenant neutral tone, no profile features read"


class CompiledPolicy:
    """Immutable once built by :func:`tactful.policy.load_policy`; safe to share between threads."""

    __slots__ = (
        "_action_rules",
        "_bounds",
        "_channel_rules",
        "_decision_stages",
        "_facts",
        "_guardrails",
        "_intensity",
        "_last",
        "_preference",
        "_tone_read_early",
        "_tone_rules",
        "content_hash",
        "document",
        "neutral_tone",
        "source_name",
        "tenant",
        "version_label",
    )

    def __init__(
        self,
        *,
        document: PolicyDocument,
        content_hash: str,
        source_name: str,
        version_label: str,
        channel_rules: tuple[ChannelRule, ...],
        action_rules: tuple[ActionRule, ...],
        tone_rules: tuple[ToneRule, ...],
        facts: FactBuilder,
    ) -> None:
        self.document = document
        self.tenant: str | None = document.tenant
        self.version_label = version_label
        self.content_hash = content_hash
        self.source_name = source_name
        self.neutral_tone = ToneProfile(**document.brand.neutral_tone.model_dump())
        self._bounds: Mapping[ToneAttribute, tuple[float, float]] = dict(document.brand.bounds)
        self._preference: tuple[Channel, ...] = tuple(document.channels.preference)
        guard = document.guardrails
        self._guardrails = GuardrailConfig.build(
            guard.quiet_hours.channels, guard.fatigue_cap.proactive_per_day
        )
        self._intensity: Mapping[PersonalisationIntensity, float] = {
            PersonalisationIntensity.OFF: 0.0,
            PersonalisationIntensity.LOW: guard.intensity.low,
            PersonalisationIntensity.STANDARD: guard.intensity.standard,
            PersonalisationIntensity.FULL: guard.intensity.full,
        }
        self._channel_rules = channel_rules
        self._action_rules = action_rules
        self._tone_rules = tone_rules
        self._facts = facts
        # Per thread: the last evaluation's state after its channel stage (see ``evaluate``).
        self._last = threading.local()
        stages = {
            "channel": [r.when for r in channel_rules],
            "action": [r.when for r in action_rules],
            "tone": [
                *(r.when for r in tone_rules),
                *(v for r in tone_rules for _, v in (*r.sets, *r.shifts) if isinstance(v, Expression)),
            ],
        }
        self._decision_stages = frozenset(
            s for s, exprs in stages.items() if any("decision" in e.needs for e in exprs)
        )
        # `tone` must hold the neutral tone from the start if any expression reads it.
        self._tone_read_early = any("tone" in e.needs for exprs in stages.values() for e in exprs)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        rules = sorted((*self._channel_rules, *self._action_rules, *self._tone_rules), key=lambda r: r.index)
        return tuple(r.id for r in rules)

    def reads(self, root: str) -> bool:
        """Whether some expression of the policy reads this fact root (e.g. ``now``), so a caller that
        memoises results (the simulator) knows which parts of the input can change them."""
        return self._facts.needs(root)

    @property
    def fatigue_cap(self) -> int:
        """Proactive contacts allowed per customer per rolling 24 h."""
        return self._guardrails.fatigue_cap

    def __repr__(self) -> str:
        rules = len(self.rule_ids)
        return f"CompiledPolicy(tenant={self.tenant!r}, version={self.version_label!r}, rules={rules})"

    def evaluate(
        self,
        inp: PolicyInput,
        *,
        channel: Channel | None = None,
        tone_shift: Mapping[ToneAttribute, float] | None = None,
    ) -> PolicyResult:
        """``channel`` and ``tone_shift`` let a learner try one of the arms the policy allows: the
        channel must be one the channel stage left (else ``ValueError``), and the shift is applied
        before the clamps and brand bounds, so they still hold."""
        original = inp
        intensity_level = inp.preferences.personalisation
        personalised = inp.profile is not None and intensity_level is not PersonalisationIntensity.OFF
        inbound = inp.message.channel
        last: _AfterChannels | None = getattr(self._last, "value", None)
        if last is not None and last.inp is original and (channel is not None or tone_shift is not None):
            # A learner's arm for the input just evaluated on this thread: the facts and the channel
            # stage do not depend on the arm, so start from that evaluation's state after its channel
            # stage. The CEL context is reused: `decision` is republished by each stage that reads
            # it, and `tone` is reset to the neutral tone the action and tone stages start from; so
            # the conditions that do not read `decision` hold as they did (``Evaluation.known``).
            ctx, plan = last.ctx, last.plan
            ev = Evaluation(
                ctx=ctx,
                facts=self._facts,
                decision_stages=self._decision_stages,
                rules_fired=list(last.rules_fired),
                notes=list(last.notes),
                known=last.known,
            )
            if self._tone_read_early:
                self._facts.set_tone(ctx, self.neutral_tone.attributes(), self.neutral_tone.style)
        else:
            notes: list[str] = []
            if not personalised:
                if inp.profile is not None:
                    # Defensive: the engine should pass no profile when personalisation is off.
                    inp = inp.model_copy(update={"profile": None})
                notes.append(PERSONALISATION_OFF_NOTE)
            clock = resolve_clock(inp)
            notes.extend(clock.notes)

            ctx = self._facts.context(inp, clock, notes)
            known: dict[int, tuple[bool, str | None]] = {}
            ev = Evaluation(
                ctx=ctx, facts=self._facts, decision_stages=self._decision_stages, notes=notes, known=known
            )
            if self._tone_read_early:
                self._facts.set_tone(ctx, self.neutral_tone.attributes(), self.neutral_tone.style)
            ev.publish_decision("channel", channel=inbound, inbound=inbound, proactive=False, action="")

            plan = plan_channels(self._guardrails, self._preference, self._channel_rules, inp, clock, ev)
            last = _AfterChannels(original, ctx, plan, tuple(ev.rules_fired), tuple(ev.notes), known, [])
            self._last.value = last
        same_plan = channel is None or channel is plan.primary
        if same_plan and last.action:
            # An arm on the first evaluation's own channel: the action stage reads what it read then
            # (the same plan and facts, the neutral tone), so its outcome is that evaluation's.
            outcome, fired, noted = last.action[0]
            ev.rules_fired, ev.notes = list(fired), list(noted)
        else:
            if channel is not None and not same_plan:
                plan = _with_primary(plan, channel)
            outcome = choose_action(self._action_rules, plan, ev)
            if same_plan:  # kept for the re-runs on this plan
                last.action.append((outcome, tuple(ev.rules_fired), tuple(ev.notes)))
        # Proactive: we start a contact the customer did not ask for on this conversation — a new
        # channel, or a call back (the reply offering it stays on the inbound channel). These are
        # what the fatigue cap counts.
        proactive = outcome.primary is not None and (
            not continues_conversation(inbound, outcome.primary)
            or outcome.action.type is ActionType.OFFER_CALLBACK
        )

        ev.publish_decision(
            "tone",
            channel=outcome.primary,
            inbound=inbound,
            proactive=proactive,
            action=outcome.action.type.value,
        )
        tone = compute_tone(
            self.neutral_tone,
            self._bounds,
            self._tone_rules,
            personalised=personalised,
            intensity=self._intensity[intensity_level] if personalised else 0.0,
            ev=ev,
            extra_shift=tone_shift,
        )
        return PolicyResult(
            tone=tone,
            channel=ChannelChoice(primary=outcome.primary, fallbacks=outcome.fallbacks, removed=plan.removed),
            action=outcome.action,
            proactive=proactive,
            rules_fired=tuple(ev.rules_fired),
            notes=tuple(ev.notes),
            policy_version=self.version_label,
        )


@dataclass(frozen=True, slots=True)
class _AfterChannels:
    """One evaluation's state after its channel stage, kept per thread for re-runs with an arm."""

    inp: PolicyInput  # the caller's object: a re-run is for the very same input
    ctx: cel.Context
    plan: ChannelPlan
    rules_fired: tuple[str, ...]
    notes: tuple[str, ...]
    #: The conditions that do not read ``decision``, filled on by the rest of that evaluation.
    known: dict[int, tuple[bool, str | None]]
    #: That evaluation's action stage once it has run: (outcome, rules fired, notes) after it.
    action: list[tuple[Any, tuple[str, ...], tuple[str, ...]]]


def _with_primary(plan: ChannelPlan, channel: Channel) -> ChannelPlan:
    """The plan with ``channel`` (one it allows) moved to the front; the rest keep their order."""
    allowed = (plan.primary, *plan.fallbacks) if plan.primary is not None else ()
    if channel not in allowed:
        raise ValueError(f"channel {channel.value!r} is not allowed by the policy for this input")
    return replace(plan, primary=channel, fallbacks=tuple(c for c in allowed if c is not channel))
