"""The model's scores kept between updates: the same choices as a model that asks VW every time."""

from __future__ import annotations

import random

from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.model import BanditModel, explorer_args

ARMS = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy"), Arm(Channel.SMS, "warmer")]
CONTEXTS = [
    {"intent": i, "tier": t, "hr": h}
    for i in ("billing", "cancel")
    for t in ("vip", "std")
    for h in ("h2", "h6")
]


class Uncached(BanditModel):
    """VW asked on every prediction (the cache emptied before each one)."""

    def predict(self, features, arms):  # type: ignore[no-untyped-def]
        self._predicted.clear()
        return super().predict(features, arms)


def _run(model: BanditModel, seed: int) -> list[tuple[tuple[float, ...], int, int]]:
    """Several predictions between updates (contexts repeat), then an update, many times over."""
    rng = random.Random(seed)
    out = []
    for step in range(600):
        ctx = rng.choice(CONTEXTS)
        arms = ARMS if step % 3 else ARMS[:2]
        p = model.predict(ctx, arms)
        out.append((p.probabilities, p.chosen, p.greedy))
        if step % 5 == 4:  # an update every few decisions: the weights change
            reward = (1.0 if p.chosen == (ctx["tier"] == "vip") else 0.0) + rng.gauss(0.0, 0.2)
            model.learn(ctx, arms, p.chosen, reward, p.probabilities[p.chosen])
    return out


def test_cached_scores_give_the_same_choices_as_asking_vw_every_time() -> None:
    cached, plain = (
        BanditModel(explorer_args("squarecb", 0.05), seed=5),
        Uncached(explorer_args("squarecb", 0.05), seed=5),
    )
    a, b = _run(cached, 11), _run(plain, 11)
    assert [x[1:] for x in a] == [x[1:] for x in b]
    assert all(abs(p - q) < 1e-12 for x, y in zip(a, b, strict=True) for p, q in zip(x[0], y[0], strict=True))
    assert len({x[1] for x in a}) > 1  # the runs did learn and explore, not just play one arm


def test_an_update_empties_the_cache_and_the_next_prediction_sees_the_new_weights() -> None:
    model = BanditModel(explorer_args("squarecb", 0.05), seed=1)
    ctx = CONTEXTS[0]
    before = model._run(ctx, ARMS, None, "k")
    assert model._predicted  # kept
    for _ in range(20):
        model.learn(ctx, ARMS, 1, 1.0, 0.5)
    assert not model._predicted  # emptied by the update
    after = model._run(ctx, ARMS, None, "k")
    assert after != before and after[1] < before[1]  # arm 1's cost fell with its rewards
    fresh = Uncached(explorer_args("squarecb", 0.05), seed=1)
    for _ in range(20):
        fresh.learn(ctx, ARMS, 1, 1.0, 0.5)
    assert fresh._run(ctx, ARMS, None, "k") == after


def test_another_arm_set_or_context_is_not_served_from_the_cache() -> None:
    model = BanditModel(explorer_args("squarecb", 0.05), seed=2)
    for step in range(50):
        model.learn(CONTEXTS[step % 2], ARMS, step % 3, float(step % 3 == 2), 1 / 3)
    full = model._run(CONTEXTS[0], ARMS, None, "k")
    assert len(model._run(CONTEXTS[0], ARMS[:2], None, "k")) == 2
    assert model._run(CONTEXTS[1], ARMS, None, "k") != full
    assert len(model._predicted) == 3
