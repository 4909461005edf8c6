"""The level monitor's confirmation step: an alarm resets a group at once, and a fresh window of
rewards after it decides whether the reset stands (the fall persists) or is undone."""

from __future__ import annotations

import random

from tactful.domain import Channel
from tactful.learn.arms import Arm
from tactful.learn.drift import CONFIRM_MIN, ContextState, DriftMonitor, group_key
from tactful.learn.model import BanditModel, explorer_args

KEY = "l:sms|g:x"


def _feed(monitor: DriftMonitor, levels: list[float], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        monitor.observe_level(KEY, f"{KEY}#as_policy|h{step % 4}", level + rng.gauss(0, 0.6))
        for step, level in enumerate(levels)
    ]


def _one_off_dip() -> list[float]:
    # A steady level, then six rewards far below it (an outage of a few minutes), then steady again.
    return [0.5] * 2000 + [0.5 - 1.8] * 6 + [0.5] * 2000


def test_the_cusum_alone_alarms_on_a_one_off_dip() -> None:
    """The dip is big enough to cross the CUSUM's threshold by itself (what the confirmation is for)."""
    state = ContextState()
    rng = random.Random(11)
    raised = [state.observe_level(x + rng.gauss(0, 0.6) - 0.5, confirm=False) for x in _one_off_dip()]
    assert "alarm" not in raised[:2000]
    assert "alarm" in raised[2000:2010]


def test_a_one_off_dip_is_refuted() -> None:
    monitor = DriftMonitor()
    events = _feed(monitor, _one_off_dip(), seed=11)
    assert "alarm" not in events[:2000]
    alarm = events.index("alarm")
    assert alarm < 2010
    assert "refuted" in events[alarm : alarm + 200]
    assert "confirmed" not in events
    assert monitor.status()["level_alarms_refuted"] == 1
    assert monitor.state_of(KEY).epoch == 0  # the level's reference (its cells) was kept


def test_a_persistent_fall_is_confirmed() -> None:
    monitor = DriftMonitor()
    events = _feed(monitor, [0.5] * 2000 + [0.2] * 2000, seed=11)  # a 0.5 σ fall that stays
    assert "alarm" not in events[:2000]
    alarm = events.index("alarm") - 2000
    confirmed = events.index("confirmed") - 2000
    assert 0 < alarm < 300  # the CUSUM's delay for a 0.5 σ fall is ~65 rewards
    assert alarm + CONFIRM_MIN <= confirmed < alarm + 400
    assert "refuted" not in events
    assert monitor.state_of(KEY).epoch == 1


def test_confirmation_state_survives_a_snapshot() -> None:
    monitor = DriftMonitor()
    _feed(monitor, _one_off_dip()[:2010], seed=11)  # stopped inside the confirmation window
    assert monitor.state_of(KEY).confirm_left > 0
    again = DriftMonitor.restore(monitor.state())
    assert again.state() == monitor.state()


def test_a_refuted_alarm_gives_the_group_its_old_weights_back() -> None:
    """The model resets the group at the level alarm (a new epoch: fresh weights, its own explorer)
    and, when the dip does not persist, goes back to the epoch it had before that alarm (whose
    weights were left untouched). A residual alarm (the other monitor) is a reset of its own and is
    not undone."""
    arms = [Arm(Channel.CHAT, "as_policy"), Arm(Channel.EMAIL, "as_policy")]
    model = BanditModel(explorer_args("squarecb", 0.05), seed=3)
    rng = random.Random(5)
    group = group_key({"intent": "billing", "tier": "vip"})
    epochs = []
    for step in range(2200):
        dip = 1800 <= step < 1820  # a short outage of both channels
        here = {"intent": ("billing", "refund")[step % 2], "tier": "vip", "hr": f"h{(step // 50) % 8}"}
        p = model.predict(here, arms)
        value = (0.8 if p.chosen == 0 else 0.3) - (0.8 if dip else 0.0)
        model.learn(
            dict(p.features or here), arms, p.chosen, value + rng.gauss(0, 0.5), p.probabilities[p.chosen]
        )
        epochs.append(model.drift.state_of(group).epoch)
    assert max(epochs[:1800]) == 0
    newest = max(epochs)
    assert newest >= 1  # reset at the alarm ...
    assert epochs[-1] < newest  # ... and that reset undone
    assert epochs.index(newest) > 1800
    assert model.drift.refuted == 1
    assert not model.drift.state_of(group).provisional
    again = BanditModel(model.args, seed=3, model_bytes=model.to_bytes())
    assert again.status() == model.status()
