"""The oracle's plan (``learn/simulator/foresight.py``): the best total expected reward when a
proactive contact tires the same customer for 24 hours, not the best arm per contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tactful.config import default_policy_file
from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.simulator.foresight import Moves, plan
from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.run import simulate
from tactful.policy.loader import load_policy_file

T0 = datetime(2026, 1, 5, tzinfo=UTC)
STAY = Arm(Channel.CHAT, "as_policy")
AWAY = Arm(Channel.SMS, "as_policy")


def _moves(table: dict[tuple[int, int], Moves]):  # type: ignore[no-untyped-def]
    return lambda index, count: table[(index, min(count, 1))]


def test_a_proactive_contact_that_tires_the_next_one_is_not_worth_it() -> None:
    # Contact 0: the proactive arm is better now (1.2 vs 1.0) but halves contact 1 an hour later.
    table: dict[tuple[int, int], Moves] = {
        (0, 0): ((1.0, STAY), (1.2, AWAY)),
        (1, 0): ((1.0, STAY), None),
        (1, 1): ((0.5, STAY), None),
    }
    soon = plan([7, 7], [T0, T0 + timedelta(hours=1)], _moves(table))
    assert soon == {0: STAY, 1: STAY}  # 2.0, where the per-contact argmax gets 1.2 + 0.5
    # A day and an hour later the fatigue has passed: the proactive arm is worth it again.
    later = plan([7, 7], [T0, T0 + timedelta(hours=25)], _moves(table))
    assert later == {0: AWAY, 1: STAY}


def test_customers_are_planned_apart_and_no_contact_carries_the_state() -> None:
    table: dict[tuple[int, int], Moves] = {
        (0, 0): ((1.0, STAY), (1.2, AWAY)),
        (1, 0): ((1.0, STAY), (1.1, AWAY)),  # another customer: not tired by contact 0
        (2, 0): (None, None),  # the policy left no arm (no contact)
        (2, 1): (None, None),
        (3, 0): ((1.0, STAY), None),
        (3, 1): ((0.1, STAY), None),
    }
    times = [T0 + timedelta(minutes=m) for m in (0, 1, 2, 3)]
    chosen = plan([1, 2, 1, 1], times, _moves(table))
    assert chosen == {0: STAY, 1: AWAY, 3: STAY}


def test_the_oracle_plans_around_fatigue_and_beats_the_per_contact_argmax() -> None:
    # Few customers writing often, with strong fatigue: where the argmax oracle used to lose to the
    # rules (generated spec 1008 at 20,000 decisions).
    spec = random_spec(1008).model_copy(update={"customers": 40, "days": 3, "fatigue": 0.4})
    policy = load_policy_file(default_policy_file())
    report, _ = simulate(spec, policy, decisions=1500, seed=3, strategies=("rules", "greedy", "oracle"))
    got = {k: v["cumulative_expected_reward"] for k, v in report["strategies"].items()}
    assert got["oracle"] > got["greedy"]
    assert got["oracle"] >= got["rules"]
    assert report["policy_violations"] == 0
    assert all(regret >= -1e-9 for regret in report["regret_vs_oracle"].values())
