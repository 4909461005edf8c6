"""SquareCB's clock counts every reward the model learned, across snapshots (issue 16, learn16).

``BanditModel.learned`` restarts at every snapshot (``BanditLearner.snapshot``: the count since the
last one); the explorer's ``n`` used to read it, so γ = scale × √n fell back to its first value
every ``snapshot_every`` rewards and exploration jumped back up with it."""

from __future__ import annotations

import random

from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.model import BanditModel, explorer_args

ARMS = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy"), Arm(Channel.SMS, "warmer")]
CONTEXT = {"intent": "billing", "tier": "vip", "hr": "h3"}


def trained(rewards: int = 800) -> BanditModel:
    rng = random.Random(3)
    model = BanditModel(explorer_args("squarecb", 0.05), seed=3)
    for _ in range(rewards):
        chosen = rng.randrange(len(ARMS))
        model.learn(CONTEXT, ARMS, chosen, 0.3 + 0.2 * chosen + rng.gauss(0.0, 0.1), 1 / 3)
    return model


def explored(model: BanditModel) -> float:
    """The probability of playing off the greedy arm."""
    found = model.predict(CONTEXT, ARMS)
    return 1.0 - found.probabilities[found.greedy]


def test_a_snapshot_does_not_restart_exploration() -> None:
    model = trained()
    before = explored(model)
    model.learned = 0  # what BanditLearner.snapshot does after saving
    assert explored(model) == before
    restored = BanditModel(model.args, seed=3, model_bytes=model.to_bytes())
    assert restored.clock == 800 and explored(restored) == before


def test_exploration_falls_as_rewards_are_learned() -> None:
    assert explored(trained(1600)) < explored(trained(400))
