"""Properties: whatever the inputs and whatever the rules, no result breaks a hard constraint."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import default_policy, make_input, policy_yaml

from tactful.domain import (
    INTRUSIVE_CHANNELS,
    PRIVATE_COUNTERPART,
    PUBLIC_CHANNELS,
    ActionType,
    Channel,
    CustomerProfile,
    PersonalisationIntensity,
    PiiFinding,
    Preferences,
    QuietHours,
    Signals,
    Tier,
)
from tactful.policy import PERSONALISATION_OFF_NOTE, CompiledPolicy, PolicyInput, PolicyResult, load_policy

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "America/St_Johns",
]
FATIGUE_CAP = 2

# Rules that push against every guardrail: they must lose every time.
ADVERSARIAL = load_policy(
    policy_yaml(
        """\
  - {id: allow-all, kind: channel, effect: allow, channels: [chat, sms, voice, email, social, social_dm]}
  - {id: prefer-intrusive, kind: channel, effect: prefer, priority: 9, channels: [voice, sms, social]}
  - {id: deny-maybe, kind: channel, effect: deny, channels: [email], when: 'signals.urgency > 0.8'}
  - {id: go-voice, kind: action, action: switch_channel, channel: voice, priority: 50,
     when: 'signals.anger > 0.3'}
  - {id: go-sms, kind: action, action: switch_channel, channel: sms, priority: 40,
     when: 'signals.urgency > 0.3'}
  - {id: go-public, kind: action, action: switch_channel, channel: social, priority: 30}
  - {id: call-them, kind: action, action: offer_callback, priority: 20}
  - {id: wild-set, kind: tone, set: {formality: 'signals.valence * 5.0', warmth: '-3.0'}}
  - {id: wild-shift, kind: tone, scope: channel,
     shift: {brevity: 'signals.urgency * 4.0 - 2.0', empathy: 1.0}}
  - {id: wild-clamp, kind: tone, scope: safety, clamp: {directness: [0.9, 1.0]}, priority: -5}
  - {id: broken, kind: tone, set: {directness: 'features.nope'}, when: 'features.nope > 1'}
""",
        guardrails=f"  fatigue_cap: {{proactive_per_day: {FATIGUE_CAP}}}",
        brand="  bounds: {warmth: [0.2, 0.8]}",
    ),
    source_name="adversarial.yaml",
)

channels = st.sampled_from(list(Channel))
unit = st.floats(0, 1, allow_nan=False)
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware_now = st.builds(
    lambda base, minutes, tz: (base + timedelta(minutes=minutes)).astimezone(tz),
    st.sampled_from(
        [
            datetime(2026, 3, 7, tzinfo=UTC),
            datetime(2026, 3, 28, tzinfo=UTC),
            datetime(2026, 4, 4, tzinfo=UTC),
            datetime(2026, 10, 31, tzinfo=UTC),
            datetime(2026, 6, 15, tzinfo=UTC),
        ]
    ),
    st.integers(0, 3 * 24 * 60),
    st.one_of(st.sampled_from(ZONES).map(ZoneInfo), offsets),
)
preferences = st.builds(
    Preferences,
    opted_out=st.frozensets(channels),
    quiet_hours=st.one_of(st.none(), st.builds(QuietHours, start=times, end=times)),
    personalisation=st.sampled_from(list(PersonalisationIntensity)),
    preferred_channel=st.one_of(st.none(), channels),
    do_not_contact=st.sampled_from([False, False, False, True]),
)
profiles = st.one_of(
    st.none(),
    st.builds(
        CustomerProfile,
        tier=st.sampled_from(list(Tier)),
        time_zone=st.sampled_from(ZONES),
        accessibility_needs=st.lists(
            st.sampled_from(["hearing_impaired", "plain_language"]), unique=True
        ).map(tuple),
    ),
)
signals = st.builds(
    Signals,
    valence=st.floats(-1, 1, allow_nan=False),
    anger=unit,
    frustration=unit,
    urgency=unit,
    formality=unit,
    injection=unit,
    intent_confidence=unit,
    pii=st.lists(st.sampled_from(["email", "phone", "card"]), max_size=2).map(
        lambda kinds: tuple(PiiFinding(kind=k, token=f"<{k}>") for k in kinds)
    ),
)
features = st.fixed_dictionaries(
    {"proactive_contacts_24h": st.integers(0, 4)},
    optional={"time_zone": st.sampled_from([*ZONES, "Not/AZone"])},
)
inputs = st.builds(
    lambda channel, prefs, profile, sig, feats, now: make_input(
        channel=channel, preferences=prefs, profile=profile, signals=sig, features=feats, now=now
    ),
    channels,
    preferences,
    profiles,
    signals,
    features,
    aware_now,
)


def expected_quiet(inp: PolicyInput) -> bool:
    """An independent oracle for "is it the customer's quiet time now"."""
    window = inp.preferences.quiet_hours
    if window is None or window.start == window.end:
        return False
    personalised = (
        inp.profile is not None and inp.preferences.personalisation is not PersonalisationIntensity.OFF
    )
    zone_name = inp.profile.time_zone if personalised and inp.profile else inp.features.get("time_zone")
    try:
        zone = ZoneInfo(str(zone_name)) if zone_name else None
    except (KeyError, ValueError):
        zone = None
    if zone is None:
        return True  # unknown zone: intrusive channels are treated as quiet
    t = inp.now.astimezone(zone).time().replace(tzinfo=None)
    if window.start < window.end:
        return window.start <= t < window.end
    return t >= window.start or t < window.end


def assert_hard_constraints(inp: PolicyInput, result: PolicyResult, cap: int) -> None:
    prefs, inbound = inp.preferences, inp.message.channel
    primary, fallbacks = result.channel.primary, result.channel.fallbacks
    offered = [c for c in (primary, *fallbacks) if c is not None]
    assert len(offered) == len(set(offered))

    if prefs.do_not_contact:
        assert (result.action.type, primary, fallbacks) == (ActionType.NO_CONTACT, None, ())
    assert (primary is None) == (result.action.type is ActionType.NO_CONTACT)
    if primary is None:
        assert fallbacks == ()
    # A DM answering a public post continues the conversation: not a proactive contact.
    answers = {inbound, *([PRIVATE_COUNTERPART[inbound]] if inbound in PRIVATE_COUNTERPART else [])}
    assert result.proactive == (
        primary is not None and (primary not in answers or result.action.type is ActionType.OFFER_CALLBACK)
    )

    assert not set(offered) & prefs.opted_out
    if inp.signals.pii:
        assert not set(offered) & PUBLIC_CHANNELS
    if expected_quiet(inp):
        assert not {c for c in offered if c is not inbound} & INTRUSIVE_CHANNELS
    if inp.features.get("proactive_contacts_24h", 0) >= cap:
        assert set(offered) <= answers
        assert not result.proactive
        assert result.action.type not in (ActionType.OFFER_CALLBACK, ActionType.SWITCH_CHANNEL)
    if result.action.type is ActionType.OFFER_CALLBACK:
        assert Channel.VOICE not in prefs.opted_out
        assert not expected_quiet(inp)
    if result.action.type is ActionType.SWITCH_CHANNEL:
        assert primary is not inbound

    for value in result.tone.attributes().values():
        assert math.isfinite(value) and 0.0 <= value <= 1.0
    personalised = inp.profile is not None and prefs.personalisation is not PersonalisationIntensity.OFF
    assert (PERSONALISATION_OFF_NOTE in result.notes) is not personalised


SETTINGS = settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(inp=inputs)
def test_default_policy_never_breaks_a_hard_constraint(inp: PolicyInput) -> None:
    result = default_policy().evaluate(inp)
    assert_hard_constraints(inp, result, cap=3)
    assert default_policy().evaluate(inp) == result  # pure and deterministic


@SETTINGS
@given(inp=inputs)
def test_adversarial_rules_never_break_a_hard_constraint(inp: PolicyInput) -> None:
    result = ADVERSARIAL.evaluate(inp)
    assert_hard_constraints(inp, result, cap=FATIGUE_CAP)
    assert not any("warmth" in note for note in result.notes)  # '-3.0' is a number: clipped, not an error
    if inp.profile is not None and inp.preferences.personalisation is not PersonalisationIntensity.OFF:
        assert 0.2 <= result.tone.warmth <= 0.8  # brand bounds hold against a rule setting -3


@SETTINGS
@given(inp=inputs)
def test_rules_fired_are_known_and_unique(inp: PolicyInput) -> None:
    policy: CompiledPolicy = ADVERSARIAL
    result = policy.evaluate(inp)
    known = set(policy.rule_ids) | {
        "guardrail.do_not_contact",
        "guardrail.consent.opt_out",
        "guardrail.quiet_hours",
        "guardrail.public_pii",
        "guardrail.fatigue_cap",
    }
    assert set(result.rules_fired) <= known
    assert len(result.rules_fired) == len(set(result.rules_fired))
    assert all(c.rule_id in known for c in result.channel.removed)


def test_the_adversarial_rules_do_win_when_no_guardrail_stands_in_the_way() -> None:
    # Guards against a vacuous property: without constraints the hostile rules take effect.
    result = ADVERSARIAL.evaluate(
        make_input(anger=0.9, profile=CustomerProfile(), preferences=Preferences(quiet_hours=None))
    )
    assert (result.action.type, result.channel.primary) == (ActionType.SWITCH_CHANNEL, Channel.VOICE)
    assert result.channel.fallbacks[:2] == (Channel.CHAT, Channel.SMS)
    assert result.tone.directness >= 0.9 and result.tone.warmth == 0.2
