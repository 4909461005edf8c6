"""Arm assignment (stable, monotone in the share, independent across experiments), the one-sided
mixture SPRT (false alarms bounded under repeated looks, harm found), and the verdicts (golden)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tactful.config import default_policy_file
from tactful.domain import TenantId
from tactful.policy.experiments import ArmStats, Experiment, ExperimentSettings, assign_arm, with_learner_mode
from tactful.policy.loader import load_policy_file
from tactful.policy.rollout import judge
from tactful.policy.sequential import Sample, harm_test


@given(st.text(min_size=1, max_size=40), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_a_customer_in_the_candidate_stays_there_as_the_share_grows(
    customer: str, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    if assign_arm("exp_1", customer, low) == "candidate":
        assert assign_arm("exp_1", customer, high) == "candidate"
    assert assign_arm("exp_1", customer, low) == assign_arm("exp_1", customer, low)  # stable
    assert assign_arm("exp_1", customer, 0.0) == "control"
    assert assign_arm("exp_1", customer, 1.0) == "candidate"


def test_shares_are_met_and_experiments_are_independent() -> None:
    customers = [f"cust-{i}" for i in range(20_000)]
    for share in (0.05, 0.25, 0.5):
        got = sum(assign_arm("exp_a", c, share) == "candidate" for c in customers) / len(customers)
        assert abs(got - share) < 0.015, (share, got)
    a = {c for c in customers if assign_arm("exp_a", c, 0.5) == "candidate"}
    b = {c for c in customers if assign_arm("exp_b", c, 0.5) == "candidate"}
    assert abs(len(a & b) / len(customers) - 0.25) < 0.015  # a fresh split, not the same half again


def _run(
    p_control: float, p_candidate: float, seed: int, *, n: int = 1500, look_every: int = 25
) -> int | None:
    """Decisions per arm when the test first stops (None: never), looking every ``look_every``."""
    rng = random.Random(seed)
    hits_c = hits_t = 0
    for i in range(1, n + 1):
        hits_c += rng.random() < p_control
        hits_t += rng.random() < p_candidate
        if i >= 100 and i % look_every == 0:
            test = harm_test(
                Sample.of_rate(i, hits_c), Sample.of_rate(i, hits_t),
                worse="lower", margin=0.02, tau=0.05, alpha=0.05 / 7,
            )  # fmt: skip
            if test.breached:
                return i
    return None


def test_repeated_looks_keep_false_alarms_below_alpha() -> None:
    # No harm, looked at 36 times per run: a fixed-sample test at the same level would fire far
    # more often than alpha; the mixture SPRT stays below it.
    stops = [_run(0.5, 0.5, seed) for seed in range(200)]
    assert sum(s is not None for s in stops) / len(stops) <= 0.05 / 7 + 0.01


def test_clear_harm_is_found_and_a_better_candidate_never_stops() -> None:
    big = [_run(0.5, 0.3, seed) for seed in range(40)]
    assert all(s is not None and s <= 600 for s in big)  # 20 points lower: found within 600 per arm
    assert all(_run(0.4, 0.5, seed) is None for seed in range(40))


def test_harm_direction_and_margin() -> None:
    control, worse = Sample.of_rate(1000, 500), Sample.of_rate(1000, 400)
    assert harm_test(control, worse, worse="lower", margin=0.0, tau=0.05, alpha=0.01).breached
    assert not harm_test(control, worse, worse="higher", margin=0.0, tau=0.05, alpha=0.01).breached
    assert not harm_test(control, worse, worse="lower", margin=0.15, tau=0.05, alpha=0.01).breached
    flat = Sample.of_rate(1000, 0)
    assert not harm_test(flat, flat, worse="higher", margin=0.0, tau=0.05, alpha=0.01).breached
    assert harm_test(control, worse, worse="lower", margin=0.0, tau=0.05, alpha=0.01).always_valid_p < 0.01


T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _experiment(kind: str = "canary", step: int = 0, **settings: object) -> Experiment:
    cfg = ExperimentSettings.model_validate({"min_samples": 100, "min_samples_per_step": 150, **settings})
    return Experiment(
        tenant_id=TenantId("t"), experiment_id="exp_1", name="x", kind=kind,  # type: ignore[arg-type]
        candidate_version=2, candidate_mode=None, control_version=1,
        share=cfg.steps[step] if kind == "canary" else cfg.share, step=step, state="running",
        settings=cfg, created_at=T0, created_by="t", step_started_at=T0,
    )  # fmt: skip


def _arm(n: int, resolved: float, *, csat: float = 4.0, latency: float = 2.0) -> ArmStats:
    hits = round(n * resolved)
    return ArmStats(
        decisions=n, customers=n, latency_sum=latency * n, latency_sq=(latency**2 + 0.01) * n, matured=n,
        resolved=hits, recontact=n - hits, complaint=n // 20, opted_out=0, escalated=0,
        csat_n=n, csat_sum=csat * n, csat_sq=(csat**2 + 0.5) * n,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "step", "control", "candidate", "step_n", "verdict"),
    [
        ("canary", 0, _arm(2000, 0.5), _arm(40, 0.5), 40, "wait"),  # too few to test anything
        ("canary", 0, _arm(2000, 0.5), _arm(120, 0.2), 120, "rollback"),  # resolution collapsed
        ("canary", 0, _arm(2000, 0.5), _arm(160, 0.5), 120, "wait"),  # the step needs 150 of its own
        ("canary", 0, _arm(2000, 0.5), _arm(160, 0.52), 160, "ramp"),  # 5 % → 25 %
        ("canary", 2, _arm(2000, 0.5), _arm(900, 0.52), 300, "promote"),  # 50 % held → 100 %
        ("canary", 1, _arm(2000, 0.5), _arm(400, 0.5, latency=4.0), 200, "rollback"),  # twice as slow
        ("ab", 0, _arm(500, 0.5), _arm(500, 0.55), 0, "hold"),  # A/B: promoted by hand
        ("ab", 0, _arm(500, 0.5), _arm(500, 0.5, csat=3.0), 0, "rollback"),  # a star lower
    ],
)
def test_verdicts(
    kind: str, step: int, control: ArmStats, candidate: ArmStats, step_n: int, verdict: str
) -> None:
    arms = {"control": control, "candidate": candidate}
    step_stats = ArmStats(decisions=step_n, matured=step_n)
    assert judge(_experiment(kind, step), arms, step_stats).verdict == verdict


def test_settings_are_checked_and_a_learner_mode_candidate_is_the_same_policy_otherwise() -> None:
    with pytest.raises(ValueError, match="increase"):
        ExperimentSettings(steps=(0.5, 0.25))
    policy = load_policy_file(default_policy_file())
    live = with_learner_mode(policy, "live")
    assert live.document.learning.mode == "live"
    assert live.version_label == policy.version_label
    assert live.document.model_dump(exclude={"learning"}) == policy.document.model_dump(exclude={"learning"})
