"""The self-tuning explorer and the drift monitor: their maths, and that they survive a snapshot."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.drift import DriftMonitor, context_key, group_key
from tactful.learn.explore import AdaHedge, TunedSquareCB, squarecb
from tactful.learn.model import BanditModel, explorer_args


@pytest.mark.parametrize("gamma", [0.0, 1.0, 50.0, 1e6])
def test_squarecb_is_a_distribution_favouring_the_best(gamma: float) -> None:
    probs = squarecb([0.1, 0.5, -0.2, 0.4], gamma)
    assert sum(probs) == pytest.approx(1.0)
    assert min(probs) >= 0.0
    assert max(range(4), key=lambda i: probs[i]) == 1 or gamma == 0.0
    assert probs[2] <= probs[3] + 1e-12  # a worse arm never gets more


def test_adahedge_moves_to_the_expert_with_lower_losses() -> None:
    rng = random.Random(3)
    hedge = AdaHedge(3)
    for _ in range(2000):
        hedge.update([rng.gauss(0.5, 1.0), rng.gauss(0.2, 1.0), rng.gauss(0.6, 1.0)])
    weights = hedge.weights()
    assert weights[1] > 0.8
    assert AdaHedge.restore(hedge.state()).weights() == pytest.approx(weights)


def test_tuned_squarecb_reports_its_choice() -> None:
    tuned = TunedSquareCB()
    rewards = [0.2, 0.6, 0.1]
    dist = tuned.distribution(rewards, 100)
    assert sum(dist) == pytest.approx(1.0)
    status = tuned.status()
    assert set(status["gamma_weights"]) == {f"{s:g}" for s in tuned.scales}


def _reference_squarecb(rewards: list[float], gamma: float) -> list[float]:
    """SquareCB as first written (one candidate at a time): the live path's faster form must give
    the very same floats, so the learner draws the same arms (the simulator's results are unchanged)."""
    k = len(rewards)
    best = max(range(k), key=lambda i: rewards[i])
    probs = [0.0 if i == best else 1.0 / (k + gamma * (rewards[best] - r)) for i, r in enumerate(rewards)]
    probs[best] = 1.0 - sum(probs)
    return probs


@settings(max_examples=200, deadline=None)
@given(
    rewards=st.lists(
        st.one_of(st.sampled_from([0.0, 0.5, -0.25]), st.floats(-2.0, 2.0, allow_nan=False)),
        min_size=1,
        max_size=24,
    ),
    n=st.integers(0, 10**6),
    losses=st.lists(st.floats(-50.0, 50.0, allow_nan=False), min_size=6, max_size=6),
    gap=st.sampled_from([0.0, 0.3, 7.0]),
)
def test_tuned_squarecb_gives_the_reference_floats_exactly(
    rewards: list[float], n: int, losses: list[float], gap: float
) -> None:
    tuned = TunedSquareCB()
    tuned.hedge.losses, tuned.hedge.gap = losses, gap
    weights = tuned.hedge.weights()
    root = math.sqrt(max(n, 1))
    candidates = [_reference_squarecb(rewards, scale * root) for scale in tuned.scales]
    expected = [sum(w * c[i] for w, c in zip(weights, candidates, strict=True)) for i in range(len(rewards))]
    assert tuned.candidates(rewards, n) == candidates
    assert tuned.distribution(rewards, n) == expected  # exact: no float tolerance


def test_drift_monitor_flags_a_shift_and_not_a_steady_stream() -> None:
    rng = random.Random(5)
    monitor = DriftMonitor()
    steady = [monitor.observe("ctx", rng.gauss(0.1, 0.5)) for _ in range(3000)]
    assert not any(steady)
    shifted = [monitor.observe("ctx", rng.gauss(-0.6, 0.5)) for _ in range(200)]
    assert any(shifted)
    assert shifted.index(True) < 60
    assert monitor.state_of("ctx").epoch == 1


def test_context_key_ignores_time_and_signal_buckets() -> None:
    a = {"intent": "billing", "tier": "vip", "hr": "h3", "val": "b1", "f_plan": "gold", "f_n": "m2"}
    b = {**a, "hr": "h7", "val": "b3", "f_n": "m4"}
    assert context_key(a) == context_key(b)
    assert context_key(a) != context_key({**a, "tier": "standard"})


def test_model_state_survives_a_snapshot() -> None:
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "warmer")]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=1)
    rng = random.Random(1)
    for _ in range(400):
        features = {"intent": "billing", "tier": "vip"}
        p = model.predict(features, arms)
        reward = (0.8 if p.chosen == 1 else 0.1) + rng.gauss(0.0, 0.2)
        model.learn(dict(p.features or features), arms, p.chosen, reward, p.probabilities[p.chosen])
    again = BanditModel(model.args, seed=1, model_bytes=model.to_bytes())
    assert again.status() == model.status()
    assert again.predict({"intent": "billing", "tier": "vip"}, arms).greedy == 1


def test_the_early_estimate_and_the_rest_sum_to_the_reward_and_survive_a_snapshot() -> None:
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "warmer")]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=1, early=True)
    features = {"intent": "billing", "tier": "vip"}
    # Arm 1's reward is 0.2 early (a reply) + 0.6 later; arm 0's is 0.1 early − 0.4 later.
    parts = {0: (0.1, -0.4), 1: (0.2, 0.6)}
    for i in range(300):
        chosen = i % 2
        early, rest = parts[chosen]
        model.learn_early(features, arms, chosen, early)
        model.learn(features, arms, chosen, early + rest, 0.5, partial=early)
    assert model.clock == 300  # each decision counted once, at its first (early) update
    rewards = model._rewards(features, arms, context_key(features))
    assert rewards[1] > rewards[0] + 0.5  # the later part decides it (early alone: 0.2 vs 0.1)
    again = BanditModel(model.args, seed=1, model_bytes=model.to_bytes())
    assert again._rewards(features, arms, context_key(features)) == pytest.approx(rewards, abs=1e-6)
    assert again.predict(features, arms).greedy == 1
    # A decision whose partial reward was never learned: the main regressor learns the reward
    # minus the early estimate's value, so the sum moves towards the reward, not past it.
    early_value = -again._run(features, arms, None, context_key(features), early=True)[1]
    for _ in range(50):
        again.learn(features, arms, 1, 0.8, 0.5)
    assert again.clock == 350
    assert again._rewards(features, arms, context_key(features))[1] == pytest.approx(0.8, abs=0.1)
    assert -again._run(features, arms, None, context_key(features), early=True)[1] == early_value
    # Without its early model a snapshot loads as before, and ``learn_early`` does nothing.
    plain = BanditModel(explorer_args("squarecb", 0.05), seed=1)
    plain.learn_early(features, arms, 1, 0.2)
    assert plain.clock == 0 and BanditModel(plain.args, model_bytes=plain.to_bytes()).clock == 0


def test_old_vw_explorer_snapshots_still_load() -> None:
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy")]
    legacy = BanditModel("--squarecb --gamma_scale 100", seed=1)
    legacy.learn({"intent": "x"}, arms, 1, 1.0, 0.5)
    loaded = BanditModel(legacy.args, model_bytes=legacy.to_bytes())
    assert sum(loaded.predict({"intent": "x"}, arms).probabilities) == pytest.approx(1.0)


def test_adahedge_survives_a_huge_loss_on_the_favoured_expert() -> None:
    hedge = AdaHedge(3)
    for _ in range(5000):
        hedge.update([0.0, 1.0, 1.0])
    hedge.update([5e4, 0.0, 5e4])  # the plain sum of exp(−η·Δℓ) underflowed to 0 here
    assert sum(hedge.weights()) == pytest.approx(1.0)


def test_a_drifted_context_explores_afresh_and_relearns() -> None:
    """The best arm turns worst in one context: the monitor resets it, that context gets its own
    explorer (restarted with uniform weights over the gamma scales, so it explores more than the
    tenant's), and the model then prefers the new best arm; the state survives a snapshot."""
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy"), Arm(Channel.SMS, "as_policy")]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=2)
    rng = random.Random(2)
    here = {"intent": "billing", "tier": "vip"}
    for step in range(3000):
        best = 0 if step < 1500 else 2
        p = model.predict(here, arms)
        reward = (1.0 if p.chosen == best else 0.0) + rng.gauss(0.0, 0.3)
        model.learn(dict(p.features or here), arms, p.chosen, reward, p.probabilities[p.chosen])
    key = context_key(here)
    assert model.drift.state_of(key).epoch >= 1
    assert key in model.after_drift
    assert model.predict(here, arms).greedy == 2
    exploring = model.status()["contexts_exploring_after_drift"]
    assert key in exploring
    again = BanditModel(model.args, seed=2, model_bytes=model.to_bytes())
    assert again.status() == model.status()


def test_level_monitor_flags_a_fall_not_an_hourly_swing() -> None:
    """A channel that answers by day and not by night swings every few rewards; measured against
    each hour bucket's own mean that is no fall, and a real fall is flagged."""
    rng = random.Random(7)
    monitor = DriftMonitor()
    flagged = []
    for step in range(6000):
        hour = (step // 40) % 8  # runs of rewards from the same hour bucket, as a day goes by
        level = (0.8 if hour < 5 else 0.1) - (0.4 if step >= 4000 else 0.0)
        event = monitor.observe_level("l:sms|g:x", f"l:sms|g:x#as_policy|h{hour}", level + rng.gauss(0, 0.6))
        flagged.append(event == "alarm")
    assert not any(flagged[:4000])
    assert any(flagged[4000:])
    assert flagged.index(True) - 4000 < 600


def test_a_drifted_group_re_explores_the_arm_it_stopped_playing() -> None:
    """The arm played everywhere falls and an arm the model stopped trying becomes the best; the
    rewards arrive late (a reward window) and the regressor follows the played arm's fall at once,
    so its residuals show nothing: the played channel's own reward level does. After the alarm the
    group explores again (its own explorer, restarted) and the model moves to the new best arm."""
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy"), Arm(Channel.SMS, "as_policy")]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=3)
    rng = random.Random(3)
    values = {0: 0.8, 1: 0.3, 2: 0.1}
    pending: list[tuple[dict[str, str], int, float, float]] = []
    played: list[int] = []
    for step in range(8000):
        if step == 4000:
            assert model.drift.alarms == 0  # nothing changed yet
            values = {0: 0.4, 1: 0.3, 2: 0.8}  # the played arm falls by 0.4 σ of one reward
        here = {"intent": ("billing", "refund")[step % 2], "tier": "vip", "hr": f"h{(step // 50) % 8}"}
        p = model.predict(here, arms)
        played.append(p.chosen)
        pending.append(
            (
                dict(p.features or here),
                p.chosen,
                values[p.chosen] + rng.gauss(0, 1.0),
                p.probabilities[p.chosen],
            )
        )
        if len(pending) > 300:  # the reward window: learned 300 decisions later
            f, chosen, reward, prob = pending.pop(0)
            model.learn(f, arms, chosen, reward, prob)
    group = group_key({"intent": "billing", "tier": "vip"})
    assert model.drift.state_of(group).epoch >= 1
    assert group in model.after_drift
    before, after = played[3000:4000], played[4000:6000]
    assert before.count(2) <= 5  # the old worst arm was hardly tried before the drift
    assert after.count(2) >= 200  # ... and is tried again after it
    # The new best arm is played almost everywhere (without the level monitor: in one of the two
    # situations only, half the decisions).
    assert played[-1000:].count(2) >= 750
    again = BanditModel(model.args, seed=3, model_bytes=model.to_bytes())
    assert again.status() == model.status()
