"""The later cost of a proactive contact: estimated from logged rewards, charged to proactive arms."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.drift import context_key
from tactful.learn.fatigue import COUNT_FEATURE, MIN_EACH, FatigueCost
from tactful.learn.features import shared_line
from tactful.learn.model import BanditModel, explorer_args

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fed(fall: float, *, n: int = 400, seed: int = 1) -> FatigueCost:
    """Rewards around 0.6 that drop by ``fall`` per earlier proactive contact, noise 0.3."""
    rng = random.Random(seed)
    cost = FatigueCost()
    for _ in range(n):
        count = rng.choice((0, 0, 1, 2))
        cost.observe(count, 0.6 - fall * count + rng.gauss(0.0, 0.3))
    return cost


def test_nothing_is_charged_before_the_data_show_a_fall() -> None:
    empty = FatigueCost()
    assert empty.cost() == 0.0 and empty.fall_per_contact() == 0.0
    few = FatigueCost()
    for _ in range(MIN_EACH - 1):
        few.observe(0, 1.0)
        few.observe(1, 0.0)
    assert few.fall_per_contact() == 0.0  # a large gap, but too few decisions per count
    assert fed(0.0).fall_per_contact() == 0.0  # no fall: its lower bound stays at zero


def test_the_fall_per_contact_is_estimated_with_a_cautious_bound() -> None:
    cost = fed(0.2, n=4000)
    fall = cost.fall_per_contact()
    assert 0.12 < fall < 0.2  # the lower 95 % bound: below the true 0.2, near it with 4,000 rewards
    assert fed(0.2, n=400).fall_per_contact() < fall  # less evidence, a more cautious charge


def test_later_contacts_count_the_same_customers_messages_within_a_day() -> None:
    cost = FatigueCost()
    for hours in (0, 1, 2, 30, 40, 47, 60):
        cost.message("ann", T0 + timedelta(hours=hours))
    cost.message("bob", T0)
    cost.message("bob", T0 + timedelta(hours=26))
    # Counted from a day after the first message (before that, the look-back is cut short):
    # ann at 30, 40, 47, 60 h: 0, 1, 2, 2 earlier messages within 24 h; bob at 26 h: 0 → 5 over 5.
    assert cost.later_contacts() == pytest.approx(5 / 5)
    with_fall = fed(0.2, n=4000)
    for hours in (0, 1, 2, 24.5, 25):  # counted at 24.5 h (1 and 2 h before) and 25 h (2, 24.5)
        with_fall.message("cy", T0 + timedelta(hours=hours))
    assert with_fall.cost() == pytest.approx(with_fall.fall_per_contact() * with_fall.later_contacts())
    assert with_fall.later_contacts() == pytest.approx(2.0) and with_fall.cost() > 0.0


def test_later_contacts_are_not_lowered_by_the_first_day() -> None:
    """Customers writing 3 times a day at random: every message has ~3 others in the 24 h before it.
    Counting the first day, whose look-backs are cut short, would put the mean near 2.6 after 4 days."""
    rng = random.Random(5)
    cost = FatigueCost()
    times = sorted((rng.uniform(0, 96), f"c{rng.randrange(100)}") for _ in range(1200))
    for hours, customer in times:
        cost.message(customer, T0 + timedelta(hours=hours))
    assert 2.7 < cost.later_contacts() < 3.3


def test_state_round_trips() -> None:
    cost = fed(0.2, n=2000)
    cost.message("ann", T0)
    cost.message("ann", T0 + timedelta(hours=1))
    again = FatigueCost.restore(cost.state())
    assert again.cost() == cost.cost() and again.status() == cost.status()
    assert FatigueCost.restore({}).cost() == 0.0


def test_the_count_is_bookkeeping_not_a_model_feature() -> None:
    features = {"intent": "billing", "tier": "vip", "hr": "h3"}
    counted = {**features, COUNT_FEATURE: "2"}
    assert shared_line(counted) == shared_line(features)
    assert context_key(counted) == context_key(features)


def test_a_proactive_arm_is_charged_its_later_cost() -> None:
    """Moving the customer to e-mail pays 0.1 more now, but each earlier proactive contact cost the
    next decisions 0.3, and a customer writes ~2 more times a day: the learner keeps to chat, and
    without the charge it would move."""
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy")]
    proactive = [False, True]
    rng = random.Random(5)

    def trained(with_cost: bool) -> BanditModel:
        model = BanditModel(explorer_args("squarecb", 0.05), seed=5)
        for i in range(3000):
            count = rng.choice((0, 0, 1))
            chosen = rng.randrange(2)
            reward = 0.5 + 0.1 * chosen - 0.3 * count + rng.gauss(0.0, 0.2)
            features = {"intent": "billing", "tier": "vip", "hr": "h3"}
            if with_cost:
                features[COUNT_FEATURE] = str(count)
                model.message(f"c{i % 50}", T0 + timedelta(minutes=10 * i))
            model.learn(features, arms, chosen, reward, 0.5)
        return model

    charged = trained(with_cost=True)
    assert charged.status()["fatigue_cost"] > 0.1
    context = {"intent": "billing", "tier": "vip", "hr": "h3", COUNT_FEATURE: "0"}
    assert charged.predict(context, arms, proactive).greedy == 0
    assert charged.predict(context, arms).greedy == 1  # the same model, nothing charged
    restored = BanditModel(charged.args, seed=5, model_bytes=charged.to_bytes())
    assert restored.status()["fatigue_cost"] == charged.status()["fatigue_cost"]
    assert trained(with_cost=False).predict(context, arms, proactive).greedy == 1
