"""The simulator's memos return what the uncached computation returns, contact by contact: the
policy's evaluation (rules and every arm the learner may try), the exact expected reward and the
realised reward."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from tactful.config import default_policy_file
from tactful.domain import OutcomeType
from tactful.learn.arms import STYLE_SHIFTS, allowed_arms
from tactful.learn.rewards import OutcomeFact, reward_for
from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.memo import PolicyMemo, RewardMemo
from tactful.learn.simulator.spec import PopulationSpec, load_spec
from tactful.learn.simulator.world import _DELAYED, _PATTERNS, _RESOLVED, Contact, World
from tactful.policy.loader import load_policy_file

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(default_policy_file())
SPECS = [load_spec(ROOT / "examples/populations/bank.yaml"), random_spec(5), random_spec(8)]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_policy_memo_matches_the_policy(spec: PopulationSpec) -> None:
    memo = PolicyMemo(POLICY)
    world = World(spec, POLICY.document.learning.reward, 1500, seed=3)
    styles = POLICY.document.learning.styles
    checked = 0
    for contact in world.contacts:
        for count in (0, contact.index % 4):
            inp = world.policy_input(contact, count)
            rules = POLICY.evaluate(inp)
            assert memo.evaluate(inp) == rules
            for arm in allowed_arms(rules, styles, learn_channel=True)[:4]:
                shift = STYLE_SHIFTS[arm.style]
                direct = POLICY.evaluate(inp, channel=arm.channel, tone_shift=shift)
                assert memo.evaluate(inp, channel=arm.channel, tone_shift=shift) == direct
                checked += 1
    assert checked > 1500
    assert len(memo._results) < checked  # inputs repeat, or the memo would be pointless


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_reward_memo_and_realised_rewards_match_the_direct_computation(spec: PopulationSpec) -> None:
    reward = POLICY.document.learning.reward
    world = World(spec, reward, 2000, seed=4)
    memo = RewardMemo(world)
    first = POLICY.evaluate(world.policy_input(world.contacts[0], 0))
    arms = allowed_arms(first, POLICY.document.learning.styles)
    for contact in world.contacts:
        tone = {"warmer": 0.5, "briefer": 1.0}
        for arm in arms[:3]:
            count = contact.index % 3
            assert math.isclose(
                memo.expected(contact, arm, count, tone), world.expected_reward(contact, arm, count, tone)
            )
            a, q = world.probabilities(contact, arm, count, tone)
            assert math.isclose(
                world.observed_reward(contact, arm, count, tone), _observed(spec, contact, a, q)
            )


def _observed(spec: PopulationSpec, c: Contact, a: float, q: float) -> float:
    """The realised reward built outcome by outcome, as before the memo."""
    if c.u_reply >= a:
        pattern = 0
    elif c.u_resolve < q:
        pattern = _RESOLVED
    elif c.u_complaint < spec.complaint_rate:
        pattern = 2
    else:
        pattern = 3
    outcomes = list(_PATTERNS[pattern])
    if pattern != _RESOLVED and c.u_recontact < spec.recontact_rate:
        outcomes.append((OutcomeType.RECONTACT, None))
    facts = [OutcomeFact(OutcomeType.DELIVERED, None, c.at)]
    for kind, value in outcomes:
        mean = getattr(spec.outcome_delays, kind.value)
        hours = -mean * math.log(1.0 - c.u_delays[_DELAYED.index(kind)])
        facts.append(OutcomeFact(kind, value, c.at + timedelta(hours=hours)))
    return reward_for(POLICY.document.learning.reward, c.at, facts).value + spec.reward_noise * c.noise
