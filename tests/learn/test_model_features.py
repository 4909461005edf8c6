"""What the bandit's features let it learn: a channel's value that depends on who *and* when."""

from __future__ import annotations

import random

from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.features import shared_line
from tactful.learn.model import BanditModel, explorer_args


def test_shared_line_names_the_context_and_the_context_at_this_hour() -> None:
    a = {"intent": "billing", "tier": "vip", "hr": "h3"}
    line_a, line_b = shared_line(a), shared_line({**a, "hr": "h5"})
    k_a, k_b = line_a.split("|K ")[1].split(), line_b.split("|K ")[1].split()
    assert k_a[0] == k_b[0] and k_a[0].startswith("k=")  # the same customer and situation
    assert k_a[1] != k_b[1]  # at another hour
    assert shared_line({**a, "tier": "standard"}).split("|K ")[1].split()[0] != k_a[0]


def test_model_learns_a_who_by_hour_channel_preference() -> None:
    """Chat answers for tier A in the morning and tier B in the evening, e-mail otherwise: an XOR of
    tier and hour that one-feature-at-a-time crosses with the arm cannot express."""
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy")]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=3)
    rng = random.Random(3)
    cells = [(tier, hr) for tier in ("premium", "vip") for hr in ("h2", "h6")]

    def best(tier: str, hr: str) -> int:
        return 0 if (tier == "premium") == (hr == "h2") else 1

    for _ in range(3000):
        tier, hr = rng.choice(cells)
        chosen = rng.randrange(2)  # uniformly logged
        reward = (1.0 if chosen == best(tier, hr) else 0.0) + rng.gauss(0.0, 0.3)
        model.learn({"intent": "billing", "tier": tier, "hr": hr}, arms, chosen, reward, 0.5)
    for tier, hr in cells:
        assert model.predict({"intent": "billing", "tier": tier, "hr": hr}, arms).greedy == best(tier, hr)
