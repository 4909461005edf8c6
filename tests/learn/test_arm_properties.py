"""Hypothesis: whatever the input, the learner only ever uses an arm the policy left, with a valid
propensity; its tone styles stay inside the policy's brand bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tactful.config import default_policy_file
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    CustomerProfile,
    EventId,
    InboundMessage,
    Preferences,
    Signals,
    TenantId,
    Tier,
)
from tactful.learn.arms import STYLE_SHIFTS, Arm, allowed_arms
from tactful.learn.bandit import BanditLearner
from tactful.learn.features import context_features
from tactful.learn.store import MemoryLearningStore
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.loader import load_policy_file
from tactful.policy.types import PolicyInput

TENANT = TenantId("t-prop")
POLICY = load_policy_file(default_policy_file())
FRESH = load_policy_file(default_policy_file())
NOW = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)


def _trained_learner() -> BanditLearner:
    """A learner that has seen random rewards, so its distribution is far from uniform."""
    store = MemoryLearningStore()
    learner = BanditLearner(store, lambda _t: POLICY, clock=lambda: NOW, seed=3)
    learner.set_mode(TENANT, "live")
    rng = random.Random(5)
    cfg = POLICY.document.learning
    channels = list(Channel)
    for _ in range(300):
        arms = [Arm(c, s) for c in rng.sample(channels, 3) for s in cfg.styles]
        feats = {"in": rng.choice(channels).value, "intent": rng.choice(["billing", "other"])}
        learner.learn(TENANT, cfg, feats, arms, rng.randrange(len(arms)), rng.random(), 1 / len(arms))
    return learner


LEARNER = _trained_learner()

inputs = st.builds(
    lambda inbound, opted, dnc, zone, hour, tier, valence, anger, urgency, confidence, proactive, pii: (
        PolicyInput(
            message=InboundMessage(
                event_id=EventId("e"),
                tenant_id=TENANT,
                customer_id=CustomerId("c"),
                conversation_id=ConversationId("v"),
                channel=inbound,
                text="hello",
                sent_at=NOW,
            ),
            signals=Signals(
                valence=valence, anger=anger, urgency=urgency, intent="billing", intent_confidence=confidence
            ),
            preferences=Preferences(opted_out=frozenset(opted), do_not_contact=dnc),
            profile=CustomerProfile(tier=tier, time_zone=zone),
            features={"proactive_contacts_24h": proactive},
            now=NOW.replace(hour=0) + timedelta(hours=hour),
        ),
        pii,
    ),
    st.sampled_from(list(Channel)),
    st.sets(st.sampled_from(list(Channel))),
    st.booleans(),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]),
    st.integers(0, 23),
    st.sampled_from(list(Tier)),
    st.floats(-1, 1),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 1),
    st.integers(0, 5),
    st.booleans(),
)


def _check(policy: CompiledPolicy, inp: PolicyInput) -> None:
    rules = policy.evaluate(inp)
    arms = allowed_arms(rules, policy.document.learning.styles)
    choice = LEARNER.choose(policy, inp, rules)
    if not arms:
        assert choice.trace is None and choice.result == rules
        return
    trace = choice.trace
    assert trace is not None
    assert trace.allowed == tuple(a.key for a in arms)
    assert trace.arm in trace.allowed
    assert 0 < trace.propensity <= 1
    allowed_channels = {rules.channel.primary, *rules.channel.fallbacks}
    assert choice.result.channel.primary in allowed_channels
    assert choice.result.channel.primary is Arm.parse(trace.arm).channel
    # Brand bounds hold for every style (empathy may be raised by an overrides_brand clamp).
    tone = choice.result.tone
    assert 0.3 <= tone.formality <= 0.9
    assert 0.2 <= tone.warmth <= 0.9
    # The full distribution over the allowed arms.
    prediction = LEARNER._tenant(TENANT, policy.document.learning).model.predict(context_features(inp), arms)
    assert len(prediction.probabilities) == len(arms)
    assert all(0 < p <= 1 for p in prediction.probabilities)
    assert sum(prediction.probabilities) == pytest.approx(1.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_chosen_arm_is_always_allowed(case: tuple[PolicyInput, bool]) -> None:
    _check(POLICY, case[0])


def test_masked_channel_cannot_be_forced() -> None:
    inp = PolicyInput(
        message=InboundMessage(
            event_id=EventId("e"),
            tenant_id=TENANT,
            customer_id=CustomerId("c"),
            conversation_id=ConversationId("v"),
            channel=Channel.CHAT,
            text="hello",
            sent_at=NOW,
        ),
        signals=Signals(intent_confidence=0.9),
        preferences=Preferences(opted_out=frozenset({Channel.SMS})),
        profile=CustomerProfile(),
        now=NOW,
    )
    with pytest.raises(ValueError, match="not allowed"):
        POLICY.evaluate(inp, channel=Channel.SMS)
    assert all(
        a.channel is not Channel.SMS for a in allowed_arms(POLICY.evaluate(inp), ["as_policy", "warmer"])
    )


def test_styles_shift_tone_through_the_clamps() -> None:
    inp = PolicyInput(
        message=InboundMessage(
            event_id=EventId("e"),
            tenant_id=TENANT,
            customer_id=CustomerId("c"),
            conversation_id=ConversationId("v"),
            channel=Channel.EMAIL,
            text="hello",
            sent_at=NOW,
        ),
        signals=Signals(intent_confidence=0.9),
        preferences=Preferences(),
        profile=CustomerProfile(),
        now=NOW,
    )
    base = POLICY.evaluate(inp).tone
    warmer = POLICY.evaluate(inp, tone_shift={"warmth": 0.2}).tone
    briefer = POLICY.evaluate(inp, tone_shift={"brevity": 0.9}).tone
    assert warmer.warmth == pytest.approx(base.warmth + 0.2)
    assert briefer.brevity == 0.45  # the email-detail clamp [0, 0.45] still holds
    assert POLICY.evaluate(inp, tone_shift={"warmth": 1.0}).tone.warmth == 0.9  # brand bound


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_arm_rerun_from_kept_channel_stage_matches_full_evaluation(case: tuple[PolicyInput, bool]) -> None:
    # evaluate() keeps the input's state after the channel stage for re-runs with an arm; another
    # policy object (no kept state) evaluates a copy of the input in full: both must agree.
    inp = case[0]
    rules = POLICY.evaluate(inp)
    arms = allowed_arms(rules, POLICY.document.learning.styles)
    for arm in (*arms, *reversed(arms)):  # twice each, in both orders: a re-run must not leak state
        shift = STYLE_SHIFTS[arm.style]
        rerun = POLICY.evaluate(inp, channel=arm.channel, tone_shift=shift)
        assert POLICY._last.value.inp is inp  # the re-run started from the kept state
        assert rerun == FRESH.evaluate(inp.model_copy(), channel=arm.channel, tone_shift=shift)
    assert POLICY.evaluate(inp) == rules
