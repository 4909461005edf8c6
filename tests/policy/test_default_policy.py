"""Golden cases: each guarantee policies/default.yaml makes, checked against its evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from policy_builders import default_policy, make_input, pii

from tactful.domain import (
    ActionType,
    Channel,
    CustomerProfile,
    PersonalisationIntensity,
    Preferences,
    QuietHours,
    Tier,
)
from tactful.policy import PERSONALISATION_OFF_NOTE

NY = "America/New_York"
NY_2300 = datetime(2026, 6, 16, 3, 0, tzinfo=UTC)  # 23:00 EDT on 15 June
ANGRY: dict[str, Any] = {"valence": -0.8, "anger": 0.7}
VIP = CustomerProfile(tier=Tier.VIP, time_zone=NY)


@dataclass(frozen=True)
class Expect:
    action: ActionType | None = None
    primary: Channel | str | None = "any"
    proactive: bool | None = None
    not_offered: frozenset[Channel] = frozenset()  # neither primary nor fallback
    fired: tuple[str, ...] = ()  # must appear, in this relative order
    not_fired: tuple[str, ...] = ()
    tone_at_least: dict[str, float] = field(default_factory=dict)
    tone_at_most: dict[str, float] = field(default_factory=dict)
    tone_exactly: dict[str, float] = field(default_factory=dict)
    style: str | None = None
    note_contains: str | None = None


CASES: list[tuple[str, dict[str, Any], Expect]] = [
    (
        "opted-out inbound channel is never the reply channel",
        {"preferences": Preferences(opted_out=frozenset({Channel.CHAT}))},
        Expect(
            primary=Channel.SOCIAL_DM,
            proactive=True,
            not_offered=frozenset({Channel.CHAT}),
            fired=("guardrail.consent.opt_out",),
        ),
    ),
    (
        "opted-out channels are not fallbacks either",
        {"preferences": Preferences(opted_out=frozenset({Channel.EMAIL, Channel.SMS}))},
        Expect(primary=Channel.CHAT, proactive=False, not_offered=frozenset({Channel.EMAIL, Channel.SMS})),
    ),
    (
        "do not contact means no contact at all",
        {"preferences": Preferences(do_not_contact=True), **ANGRY, "profile": VIP},
        Expect(
            action=ActionType.NO_CONTACT,
            primary=None,
            proactive=False,
            fired=("guardrail.do_not_contact",),
            not_fired=("vip-angry-callback",),
        ),
    ),
    (
        "quiet hours: sms and voice are not fallbacks at 23:00 New York time",
        {"profile": CustomerProfile(time_zone=NY), "now": NY_2300},
        Expect(
            primary=Channel.CHAT,
            not_offered=frozenset({Channel.SMS, Channel.VOICE}),
            fired=("guardrail.quiet_hours",),
        ),
    ),
    (
        "quiet hours: replying on the sms the customer is using is fine",
        {"channel": Channel.SMS, "profile": CustomerProfile(time_zone=NY), "now": NY_2300},
        Expect(primary=Channel.SMS, proactive=False, action=ActionType.REPLY),
    ),
    (
        "quiet hours: an angry VIP gets a human, not a 23:00 phone call",
        {"profile": VIP, "now": NY_2300, **ANGRY},
        Expect(
            action=ActionType.HANDOFF_HUMAN,
            primary=Channel.CHAT,
            fired=("guardrail.quiet_hours", "vip-angry-callback", "vip-angry-handoff", "angry-empathy"),
            note_contains="offer_callback needs voice",
        ),
    ),
    (
        "an angry VIP in the daytime is offered a call back",
        {"profile": VIP, **ANGRY},
        Expect(
            action=ActionType.OFFER_CALLBACK,
            primary=Channel.CHAT,
            proactive=True,  # the call back is a new contact (the fatigue cap counts it)
            tone_at_least={"empathy": 0.7},
            style="empathetic",
        ),
    ),
    (
        "an angry VIP who opted out of voice gets a human",
        {"profile": VIP, **ANGRY, "preferences": Preferences(opted_out=frozenset({Channel.VOICE}))},
        Expect(action=ActionType.HANDOFF_HUMAN, fired=("guardrail.consent.opt_out",)),
    ),
    (
        "an angry hearing-impaired VIP is not called",
        {
            "profile": CustomerProfile(tier=Tier.VIP, accessibility_needs=("hearing_impaired",)),
            "features": {"accessibility_needs": ["hearing_impaired"]},  # as the engine's context passes it
            **ANGRY,
        },
        Expect(
            action=ActionType.HANDOFF_HUMAN,
            not_offered=frozenset({Channel.VOICE}),
            fired=("no-voice-for-hearing-impaired",),
        ),
    ),
    (
        "accessibility needs hold with personalisation off",
        {"profile": None, "features": {"accessibility_needs": ["hearing_impaired"], "time_zone": "UTC"}},
        Expect(not_offered=frozenset({Channel.VOICE}), fired=("no-voice-for-hearing-impaired",)),
    ),
    (
        "personal data in a public post moves the reply to a private DM",
        {"channel": Channel.SOCIAL, "signals": None, "pii": pii("email")},
        Expect(
            primary=Channel.SOCIAL_DM,
            proactive=False,  # a DM answering a public post continues the conversation
            not_offered=frozenset({Channel.SOCIAL}),
            fired=("guardrail.public_pii", "public-post-moves-to-dm"),
        ),
    ),
    (
        "a public post without personal data is answered in public, briefly",
        {"channel": Channel.SOCIAL},
        Expect(primary=Channel.SOCIAL, proactive=False, tone_at_least={"brevity": 0.7, "formality": 0.5}),
    ),
    (
        "voice replies are brief",
        {"channel": Channel.VOICE},
        Expect(primary=Channel.VOICE, tone_at_least={"brevity": 0.7}, fired=("voice-brevity",)),
    ),
    (
        "voice replies are brief even with personalisation off",
        {"channel": Channel.VOICE, "profile": None},
        Expect(primary=Channel.VOICE, tone_at_least={"brevity": 0.7}, note_contains=PERSONALISATION_OFF_NOTE),
    ),
    (
        "sms replies are very brief",
        {"channel": Channel.SMS},
        Expect(tone_at_least={"brevity": 0.8}),
    ),
    (
        "email replies are fuller",
        {"channel": Channel.EMAIL},
        Expect(tone_at_most={"brevity": 0.45}, fired=("email-detail",)),
    ),
    (
        "strongly negative and angry: empathy at least 0.7",
        {**ANGRY},
        Expect(action=ActionType.REPLY, tone_at_least={"empathy": 0.7}, style="empathetic"),
    ),
    (
        "strongly negative and angry with personalisation off: exactly the neutral tone",
        {**ANGRY, "profile": None},
        Expect(
            tone_exactly={
                "formality": 0.6,
                "warmth": 0.55,
                "empathy": 0.5,
                "brevity": 0.5,
                "directness": 0.6,
            },
            note_contains=PERSONALISATION_OFF_NOTE,
        ),
    ),
    (
        "formality mirrors a casual writer, floored by brand bounds",
        {"formality": 0.0},
        Expect(tone_exactly={"formality": 0.3}),  # 0.4*0.6 + 0.6*0 = 0.24, brand floor 0.3
    ),
    (
        "formality mirrors a formal writer",
        {"formality": 1.0},
        Expect(tone_exactly={"formality": 0.84}),
    ),
    (
        "low personalisation halves the mirroring",
        {"formality": 1.0, "preferences": Preferences(personalisation=PersonalisationIntensity.LOW)},
        Expect(tone_exactly={"formality": 0.72}),  # 0.6 + 0.5 * (0.84 - 0.6)
    ),
    (
        "personalisation off: exactly the neutral tone, and a note",
        {"formality": 0.0, "profile": None},
        Expect(
            tone_exactly={
                "formality": 0.6,
                "warmth": 0.55,
                "empathy": 0.5,
                "brevity": 0.5,
                "directness": 0.6,
            },
            style="neutral",
            note_contains=PERSONALISATION_OFF_NOTE,
            not_fired=("mirror-formality",),
        ),
    ),
    (
        "urgent and angry goes to a person (escalation is for threats and fraud)",
        {"urgency": 0.9, "valence": -0.6, "anger": 0.5},
        Expect(action=ActionType.HANDOFF_HUMAN, fired=("urgent-angry-handoff",)),
    ),
    (
        "unclear intent asks a clarifying question",
        {"signals": None, "intent_confidence": 0.1},
        Expect(action=ActionType.CLARIFY),
    ),
    (
        "a customer who asks for a person gets one",
        {"intent": "contact_human_agent"},
        Expect(action=ActionType.HANDOFF_HUMAN, fired=("asks-for-a-human",)),
    ),
    (
        "an unsure guess that they asked for a person does not hand off",
        {"signals": None, "intent": "contact_human_agent", "intent_confidence": 0.2},
        Expect(action=ActionType.CLARIFY, not_fired=("asks-for-a-human",)),
    ),
    (
        "suspected prompt injection goes to a human in the plain house style",
        {"injection": 0.95, **ANGRY, "profile": VIP},
        Expect(action=ActionType.HANDOFF_HUMAN, style="neutral", fired=("injection-handoff",)),
    ),
    (
        "frustration makes replies more direct and brief",
        {"frustration": 0.8},
        Expect(tone_exactly={"directness": 0.8, "brevity": 0.65}),
    ),
    (
        "fatigue cap: no proactive channel, and no call back",
        {"profile": VIP, **ANGRY, "features": {"proactive_contacts_24h": 3}},
        Expect(
            action=ActionType.HANDOFF_HUMAN,
            primary=Channel.CHAT,
            not_offered=frozenset(set(Channel) - {Channel.CHAT}),
            fired=("guardrail.fatigue_cap",),
        ),
    ),
    (
        "fatigue cap with personal data in public: the DM answer is not a new contact",
        {
            "channel": Channel.SOCIAL,
            "signals": None,
            "pii": pii("phone"),
            "features": {"proactive_contacts_24h": 5},
        },
        Expect(
            primary=Channel.SOCIAL_DM, proactive=False, not_offered=frozenset({Channel.SOCIAL, Channel.SMS})
        ),
    ),
    (
        "personalisation off with a time zone from features: quiet hours use it",
        {"profile": None, "features": {"time_zone": NY}, "now": NY_2300},
        Expect(not_offered=frozenset({Channel.SMS, Channel.VOICE}), fired=("guardrail.quiet_hours",)),
    ),
    (
        "personalisation off and no time zone: intrusive initiation assumed quiet",
        {"profile": None, "preferences": Preferences(quiet_hours=QuietHours())},
        Expect(not_offered=frozenset({Channel.SMS, Channel.VOICE}), note_contains="time zone unknown"),
    ),
]


@pytest.mark.parametrize(("inputs", "expect"), [(i, e) for _, i, e in CASES], ids=[n for n, _, _ in CASES])
def test_default_policy_guarantee(inputs: dict[str, Any], expect: Expect) -> None:
    kwargs = dict(inputs)
    if kwargs.get("signals", "absent") is None:
        kwargs.pop("signals")
        kwargs.setdefault("intent_confidence", 0.9)
    result = default_policy().evaluate(make_input(**kwargs))

    offered = {result.channel.primary, *result.channel.fallbacks} - {None}
    if expect.action is not None:
        assert result.action.type is expect.action, result.notes
    if expect.primary != "any":
        assert result.channel.primary == expect.primary
    if expect.proactive is not None:
        assert result.proactive is expect.proactive
    assert not offered & expect.not_offered
    fired = list(result.rules_fired)
    for rule_id in expect.fired:
        assert rule_id in fired, fired
    assert [r for r in fired if r in expect.fired] == list(expect.fired)
    for rule_id in expect.not_fired:
        assert rule_id not in fired
    for name, low in expect.tone_at_least.items():
        assert getattr(result.tone, name) >= low - 1e-9, (name, result.tone)
    for name, high in expect.tone_at_most.items():
        assert getattr(result.tone, name) <= high + 1e-9, (name, result.tone)
    for name, value in expect.tone_exactly.items():
        assert getattr(result.tone, name) == pytest.approx(value), (name, result.tone)
    if expect.style is not None:
        assert result.tone.style == expect.style
    if expect.note_contains is not None:
        assert any(expect.note_contains in note for note in result.notes), result.notes
    assert result.policy_version == "draft"


def test_removed_channels_are_explained() -> None:
    result = default_policy().evaluate(
        make_input(
            channel=Channel.SOCIAL,
            preferences=Preferences(opted_out=frozenset({Channel.EMAIL})),
            pii=pii("card"),
        )
    )
    removed = {(c.channel, c.rule_id) for c in result.channel.removed}
    assert removed == {
        (Channel.SOCIAL, "guardrail.public_pii"),
        (Channel.EMAIL, "guardrail.consent.opt_out"),
    }
    reasons = {c.channel: c.reason for c in result.channel.removed}
    assert "card" in reasons[Channel.SOCIAL]


def test_default_policy_is_deterministic() -> None:
    inp = make_input(profile=VIP, now=NY_2300, **ANGRY)
    assert default_policy().evaluate(inp) == default_policy().evaluate(inp)


def test_one_compiled_policy_serves_many_threads() -> None:
    import threading

    policy = default_policy()
    inp = make_input(profile=VIP, now=NY_2300, **ANGRY)
    expected = policy.evaluate(inp)
    mismatches: list[object] = []

    def work() -> None:
        for _ in range(50):
            result = policy.evaluate(inp)
            if result != expected:
                mismatches.append(result)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []
