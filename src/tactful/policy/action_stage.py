"""Action stage: the matched action rule with the highest priority wins; ties go to the more severe
action, then to the rule later in the file. A winner that needs an unavailable channel (a callback
needs voice; a switch needs its target) gives way to the next one in that order, then to ``reply``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tactful.domain import Action, ActionType, Channel, continues_conversation
from tactful.policy.channel_stage import ChannelPlan
from tactful.policy.evaluation import Evaluation
from tactful.policy.guardrails import DO_NOT_CONTACT
from tactful.policy.rules import ACTION_SEVERITY, ActionRule


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    action: Action
    primary: Channel | None
    fallbacks: tuple[Channel, ...]


def choose_action(rules: tuple[ActionRule, ...], plan: ChannelPlan, ev: Evaluation) -> ActionOutcome:
    if plan.primary is None:
        if plan.do_not_contact:
            action = Action(
                type=ActionType.NO_CONTACT,
                reason="customer asked not to be contacted",
                rule_id=DO_NOT_CONTACT,
            )
        else:
            ev.notes.append("no channel is allowed for this customer now; no contact")
            action = Action(type=ActionType.NO_CONTACT, reason="no channel allowed")
        return ActionOutcome(action, None, ())

    ev.publish_decision(
        "action",
        channel=plan.primary,
        inbound=plan.inbound,
        proactive=not continues_conversation(plan.inbound, plan.primary),
        action="",
    )
    matched = [rule for rule in rules if ev.matches(rule)]
    for rule in matched:
        ev.fire(rule.id)
    ranked = sorted(matched, key=lambda r: (-r.priority, -ACTION_SEVERITY[r.action], -r.index))
    for rule in ranked:
        if rule.action is ActionType.NO_CONTACT:  # nothing goes out, so no channel is needed
            return ActionOutcome(_action(rule), None, ())
        target = rule.required_channel
        if target is None:
            return ActionOutcome(_action(rule), plan.primary, plan.fallbacks)
        if rule.action is ActionType.SWITCH_CHANNEL and target is plan.primary:
            ev.notes.append(
                f"rule {rule.id}: already on {target.value}; switch_channel not needed, falling back"
            )
            continue
        blocks = plan.initiate_blocks[target]
        if blocks:
            why = "; ".join(reason for _, reason in blocks)
            ev.notes.append(
                f"rule {rule.id}: {rule.action.value} needs {target.value}, which is not available ({why}); "
                "falling back to the next action"
            )
            for rule_id, _ in blocks:
                if rule_id.startswith("guardrail."):
                    ev.fire(rule_id)
            continue
        if rule.action is ActionType.SWITCH_CHANNEL:
            fallbacks = tuple(c for c in (plan.primary, *plan.fallbacks) if c is not target)
            return ActionOutcome(_action(rule), target, fallbacks)
        return ActionOutcome(_action(rule), plan.primary, plan.fallbacks)

    reason = "no action rule matched" if not matched else "no matched action was possible"
    return ActionOutcome(Action(type=ActionType.REPLY, reason=reason), plan.primary, plan.fallbacks)


def _action(rule: ActionRule) -> Action:
    return Action(type=rule.action, reason=rule.reason or f"rule {rule.id}", rule_id=rule.id)
