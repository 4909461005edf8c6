"""Channel stage: candidates, guardrail and rule removals, primary and fallbacks.

Precedence: built-in guardrails > ``deny`` > ``allow`` > ``prefer``. ``allow`` adds a channel to the
candidates (it cannot undo a deny or a guardrail); ``prefer`` reorders the fallbacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from tactful.domain import Channel, ChannelConstraint
from tactful.policy.evaluation import Evaluation
from tactful.policy.guardrails import (
    DO_NOT_CONTACT,
    GUARDRAIL_ORDER,
    Block,
    ChannelBlocks,
    GuardrailConfig,
    guardrail_blocks,
)
from tactful.policy.local_time import LocalClock
from tactful.policy.rules import ChannelRule
from tactful.policy.types import PolicyInput


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    inbound: Channel
    primary: Channel | None
    fallbacks: tuple[Channel, ...]
    removed: tuple[ChannelConstraint, ...]
    initiate_blocks: dict[Channel, list[Block]]  # consulted by the action stage for callback / switch
    do_not_contact: bool


def plan_channels(
    config: GuardrailConfig,
    preference: tuple[Channel, ...],
    rules: tuple[ChannelRule, ...],
    inp: PolicyInput,
    clock: LocalClock,
    ev: Evaluation,
) -> ChannelPlan:
    inbound = inp.message.channel
    prefs = inp.preferences
    candidates = _dedupe(
        [inbound, *([prefs.preferred_channel] if prefs.preferred_channel else []), *preference]
    )

    if prefs.do_not_contact:
        ev.fire(DO_NOT_CONTACT)
        reason = "customer asked not to be contacted"
        return ChannelPlan(
            inbound,
            None,
            (),
            tuple(ChannelConstraint(channel=c, rule_id=DO_NOT_CONTACT, reason=reason) for c in candidates),
            {c: [(DO_NOT_CONTACT, reason)] for c in Channel},
            do_not_contact=True,
        )

    guard = guardrail_blocks(config, inp, clock, ev.notes)
    matched = [rule for rule in rules if ev.matches(rule)]
    blocks = _apply_rules(guard, matched, inbound)
    for rule in matched:
        if rule.effect == "allow":
            candidates = _dedupe([*candidates, *rule.channels])

    removed: list[ChannelConstraint] = []
    allowed: list[Channel] = []
    for channel in candidates:
        reasons = blocks.reply if channel is inbound else blocks.initiate[channel]
        removed.extend(ChannelConstraint(channel=channel, rule_id=r, reason=why) for r, why in reasons)
        if not reasons:
            allowed.append(channel)

    fired = {c.rule_id for c in removed}
    for guardrail in GUARDRAIL_ORDER:
        if guardrail in fired:
            ev.fire(guardrail)
    for rule in matched:
        ev.fire(rule.id)

    # `prefer` orders every alternative to the inbound channel: the fallbacks, and the primary itself
    # when the inbound channel cannot be used.
    others = _order_alternatives([c for c in allowed if c is not inbound], matched)
    ordered = (inbound, *others) if inbound in allowed else others
    primary = ordered[0] if ordered else None
    return ChannelPlan(
        inbound, primary, tuple(ordered[1:]), tuple(removed), blocks.initiate, do_not_contact=False
    )


def _apply_rules(guard: ChannelBlocks, matched: list[ChannelRule], inbound: Channel) -> ChannelBlocks:
    initiate = {c: list(b) for c, b in guard.initiate.items()}
    reply = list(guard.reply)
    for rule in matched:
        if rule.effect != "deny":
            continue
        why = rule.reason or f"denied by rule {rule.id}"
        for channel in rule.channels:
            initiate[channel].append((rule.id, why))
            if channel is inbound:
                reply.append((rule.id, why))
    return ChannelBlocks(initiate=initiate, reply=reply)


def _order_alternatives(channels: list[Channel], matched: list[ChannelRule]) -> tuple[Channel, ...]:
    preferring = sorted((r for r in matched if r.effect == "prefer"), key=lambda r: (-r.priority, r.index))
    rank: dict[Channel, int] = {}
    for rule in preferring:
        for channel in rule.channels:
            rank.setdefault(channel, len(rank))
    base = len(rank)
    return tuple(sorted(channels, key=lambda c: (rank.get(c, base), channels.index(c))))


def _dedupe(channels: list[Channel]) -> list[Channel]:
    return list(dict.fromkeys(channels))
