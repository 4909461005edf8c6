"""The simulator: spec validation, determinism, the JSON report, zero violations on shipped and random
specs, and a violation check that does catch a masked arm."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tactful.config import default_policy_file
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    EventId,
    InboundMessage,
    Preferences,
    Signals,
    TenantId,
)
from tactful.domain.customer import CustomerProfile, QuietHours
from tactful.errors import InputRejected
from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.run import _violations, simulate
from tactful.learn.simulator.spec import availability, load_spec, parse_spec
from tactful.learn.simulator.world import Contact, SimCustomer
from tactful.policy.loader import load_policy_file
from tactful.policy.types import PolicyInput

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "examples/populations").glob("*.yaml"))
POLICY = load_policy_file(default_policy_file())


def _run(spec_or_path: Any, decisions: int, seed: int = 1, **kw: Any) -> dict[str, Any]:
    spec = load_spec(spec_or_path) if isinstance(spec_or_path, Path) else spec_or_path
    report, _ = simulate(spec, POLICY, decisions=decisions, seed=seed, **kw)
    return report


def test_at_least_two_specs_ship() -> None:
    assert len(SHIPPED) >= 2
    for path in SHIPPED:
        load_spec(path)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_spec_report(path: Path) -> None:
    report = _run(path, 1200)
    assert report["decisions"] == 1200
    assert report["policy_violations"] == 0
    assert set(report["strategies"]) == {"rules", "bandit", "random", "oracle"}
    for name, figures in report["strategies"].items():
        assert "cumulative_reward" in figures
        assert report["regret_vs_oracle"][name] >= -1e-9  # nothing beats the oracle in expectation
    assert report["regret_vs_oracle"]["oracle"] == 0


def test_same_seed_same_report() -> None:
    a, b = (_run(SHIPPED[0], 600, seed=4) for _ in range(2))
    a.pop("seconds")
    b.pop("seconds")
    assert a == b
    c = _run(SHIPPED[0], 600, seed=5)
    assert c["strategies"]["random"] != a["strategies"]["random"]


@pytest.mark.parametrize("seed", range(4))
def test_random_specs_run_without_violations(seed: int) -> None:
    report = _run(random_spec(seed), 800, seed=seed)
    assert report["policy_violations"] == 0
    assert report["regret_vs_oracle"]["random"] >= 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "segments": [{"name": "a"}]}, "situations: Field required"),
        (
            {"name": "x", "situations": [{"name": "s"}], "segments": [{"name": "a", "inbound": {"fax": 1}}]},
            "segments.0.inbound",
        ),
        (
            {
                "name": "x",
                "situations": [{"name": "s"}],
                "segments": [{"name": "a", "availability": {"sms": {"morning": 0.5}}}],
            },
            "hour range",
        ),
        (
            {
                "name": "x",
                "situations": [{"name": "s"}],
                "segments": [{"name": "a"}],
                "drift": [{"at": 0.5, "segment": "b"}],
            },
            "unknown segment 'b'",
        ),
        (
            {
                "name": "x",
                "situations": [{"name": "s"}],
                "segments": [{"name": "a", "tone_pref": {"t": {"warmer": 0.1}}}],
            },
            "unknown situation 't'",
        ),
        (
            {"name": "x", "situations": [{"name": "s"}], "segments": [{"name": "a", "colour": "red"}]},
            "Extra inputs",
        ),
        ("just text", "must be a YAML mapping"),
    ],
)
def test_invalid_specs_name_the_problem(data: Any, message: str) -> None:
    with pytest.raises(InputRejected, match=message) as caught:
        parse_spec(data)
    assert caught.value.code == "invalid_spec"


def test_availability_by_hour() -> None:
    hours = {"08-22": 0.9, "22-02": 0.5, "default": 0.1}
    assert [availability(hours, h) for h in (7, 8, 21, 22, 1, 2, 5)] == [0.1, 0.9, 0.9, 0.5, 0.5, 0.1, 0.1]
    assert availability(None, 3) == 1.0


def test_the_violation_check_catches_a_masked_channel() -> None:
    now = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # quiet hours in UTC
    prefs = Preferences(opted_out=frozenset({Channel.EMAIL}))
    customer = SimCustomer(0, 0, prefs, CustomerProfile())
    contact = Contact(0, now, customer, 0, Channel.CHAT, 23, 0.5, 0.5, 0.5, 0.0)
    inp = PolicyInput(
        message=InboundMessage(
            event_id=EventId("e"),
            tenant_id=TenantId("t"),
            customer_id=CustomerId("c"),
            conversation_id=ConversationId("v"),
            channel=Channel.CHAT,
            text="x",
            sent_at=now,
        ),
        signals=Signals(intent_confidence=0.9),
        preferences=prefs,
        profile=CustomerProfile(),
        now=now,
    )
    rules = POLICY.evaluate(inp)
    assert _violations(contact, rules, rules, 0, 3, QuietHours(), inp) == 0
    forced_email = rules.model_copy(
        update={"channel": rules.channel.model_copy(update={"primary": Channel.EMAIL})}
    )
    assert _violations(contact, forced_email, rules, 0, 3, QuietHours(), inp) == 2  # masked + opted out
    forced_sms = rules.model_copy(
        update={"channel": rules.channel.model_copy(update={"primary": Channel.SMS})}
    )
    assert _violations(contact, forced_sms, rules, 0, 3, QuietHours(), inp) == 2  # masked + quiet hours
    assert _violations(contact, forced_sms, rules, 3, 3, QuietHours(), inp) == 3  # + fatigue cap


def test_observed_rewards_average_to_the_expected_reward() -> None:
    """Delays past the window, re-contacts and fatigue: what ``observed_reward`` draws must average to
    what ``expected_reward`` computes, or the oracle and regret figures would be off."""
    from tactful.domain import Channel as Ch
    from tactful.learn.arms import Arm
    from tactful.learn.simulator.world import World

    spec = random_spec(3)
    world = World(spec, POLICY.document.learning.reward, 6000, seed=2)
    for arm, count in ((Arm(Ch.CHAT, "as_policy"), 0), (Arm(Ch.EMAIL, "warmer"), 2)):
        contacts = world.contacts
        observed = sum(world.observed_reward(c, arm, count) - spec.reward_noise * c.noise for c in contacts)
        expected = sum(world.expected_reward(c, arm, count) for c in contacts)
        assert abs(observed - expected) / len(contacts) < 0.03


def test_rewards_are_learned_only_when_the_window_closes() -> None:
    spec = random_spec(1)
    report = _run(spec, 400, strategies=["bandit"])
    assert 0 < report["bandit_rewards_learned"] < 400  # the last day's windows are still open
    long_window = POLICY.document.model_dump(mode="json", by_alias=True)
    long_window["learning"]["reward"]["window"] = "400d"
    import yaml

    from tactful.policy.loader import load_policy

    slow = load_policy(yaml.safe_dump(long_window), source_name="slow")
    report, _ = simulate(spec, slow, decisions=400, seed=1, strategies=["bandit"])
    assert report["bandit_rewards_learned"] == 0


def test_random_specs_are_varied() -> None:
    specs = [random_spec(seed) for seed in range(20)]
    assert sum(bool(s.drift) for s in specs) >= 8
    assert any(len(s.drift) == 2 for s in specs)
    assert any(d.tone_pref for s in specs for d in s.drift)
    assert len({s.fatigue for s in specs}) > 10


def test_random_specs_speak_the_intent_taxonomy_and_reach_the_policy_rules() -> None:
    """Generated situations carry current ``SupportIntent`` labels, and some are unclear, angry or ask
    for a person, so the default policy's action rules fire on them as on real traffic."""
    from tactful.domain.intents import SupportIntent
    from tactful.learn.simulator.world import World

    fired: set[str] = set()
    for seed in range(12):
        spec = random_spec(seed)
        assert {s.intent for s in spec.situations} <= {i.value for i in SupportIntent}
        world = World(spec, POLICY.document.learning.reward, 300, seed=seed)
        for contact in world.contacts:
            fired.update(POLICY.evaluate(world.policy_input(contact, 0)).rules_fired)
    assert {"clarify-unclear-intent", "asks-for-a-human"} <= fired


def test_generated_drift_changes_what_is_best_and_is_measured() -> None:
    """Some generated drifts turn a segment's best channel into its worst; a run of such a spec
    reports a recovery figure for every drift point."""
    from tactful.learn.simulator.world import World

    swapped = 0
    for seed in range(30):
        spec = random_spec(seed)
        for drift in spec.drift:
            seg = next(s for s in spec.segments if s.name == drift.segment)
            best = max(seg.channel_pref, key=lambda c: seg.channel_pref[c])
            swapped += drift.channel_pref.get(best, 1.0) < seg.channel_pref[best] / 2
    assert swapped >= 3
    spec = next(s for s in (random_spec(i) for i in range(30)) if len({d.at for d in s.drift}) >= 2)
    report = _run(spec, 1200, seed=2)
    points = sorted({round(d.at * 1200 + 0.4999) for d in spec.drift})
    assert [d["at_decision"] for d in report["drift_recovery"]] == points
    assert report["policy_violations"] == 0
    world = World(spec, POLICY.document.learning.reward, 1200, seed=2)
    assert world.phase(world.contacts[-1]) == len(spec.drift)  # every change applied by the end
