"""Tone maths: set → shift → intensity → channel rules → clamps / brand bounds, with exact numbers."""

from __future__ import annotations

from typing import Any

import pytest
from policy_builders import make_input, policy_yaml

from tactful.domain import Channel, PersonalisationIntensity, Preferences, ToneAttribute
from tactful.policy import PolicyResult, compiled, load_policy

BRAND = (
    "  neutral_tone: {formality: 0.5, warmth: 0.5, empathy: 0.5, brevity: 0.5, directness: 0.5,"
    " style: house}\n"
    "  bounds: {warmth: [0.3, 0.6], empathy: [0.2, 0.6]}"
)


def evaluate(
    rules: str,
    *,
    intensity: PersonalisationIntensity = PersonalisationIntensity.STANDARD,
    personalised: bool = True,
    channel: Channel = Channel.CHAT,
    formality: float = 0.5,
) -> PolicyResult:
    policy = load_policy(policy_yaml(rules, brand=BRAND, guardrails="  intensity: {low: 0.5}"))
    inp = make_input(channel=channel, preferences=Preferences(personalisation=intensity), formality=formality)
    if not personalised:
        inp = inp.model_copy(update={"profile": None})
    return policy.evaluate(inp)


CASES: list[tuple[str, str, dict[str, Any], dict[str, float | str]]] = [
    ("no rules: neutral", "", {}, {"formality": 0.5, "style": "house"}),
    (
        "later set wins at equal priority",
        "  - {id: a, kind: tone, set: {formality: 0.9}}\n  - {id: b, kind: tone, set: {formality: 0.7}}\n",
        {},
        {"formality": 0.7},
    ),
    (
        "higher priority set wins regardless of order",
        "  - {id: a, kind: tone, priority: 5, set: {formality: 0.9}}\n"
        "  - {id: b, kind: tone, set: {formality: 0.7}}\n",
        {},
        {"formality": 0.9},
    ),
    (
        "shift applies after every set, whatever the file order",
        "  - {id: s, kind: tone, shift: {directness: 0.2}}\n"
        "  - {id: a, kind: tone, set: {directness: 0.6}}\n",
        {},
        {"directness": 0.8},
    ),
    (
        "shifts add up",
        "  - {id: s1, kind: tone, shift: {directness: 0.1}}\n"
        "  - {id: s2, kind: tone, shift: {directness: 0.15}}\n",
        {},
        {"directness": 0.75},
    ),
    (
        "set expressions see the tone so far",
        "  - {id: a, kind: tone, set: {formality: 0.9}}\n"
        "  - {id: b, kind: tone, set: {formality: 'tone.formality / 2.0 + signals.formality / 2.0'}}\n",
        {"formality": 0.1},
        {"formality": 0.5},
    ),
    (
        "results are clipped to [0, 1]",
        "  - {id: s, kind: tone, shift: {brevity: 0.9}}\n"
        "  - {id: t, kind: tone, shift: {directness: -0.9}}\n",
        {},
        {"brevity": 1.0, "directness": 0.0},
    ),
    (
        "low intensity halves the personal deviation",
        "  - {id: a, kind: tone, set: {formality: 0.9}}\n",
        {"intensity": PersonalisationIntensity.LOW},
        {"formality": 0.7},
    ),
    (
        "channel-scope rules are not scaled by intensity",
        "  - {id: c, kind: tone, scope: channel, shift: {brevity: 0.4}}\n",
        {"intensity": PersonalisationIntensity.LOW},
        {"brevity": 0.9},
    ),
    (
        "personalisation off skips personal rules, keeps channel and safety rules",
        "  - {id: p, kind: tone, set: {formality: 0.9}}\n"
        "  - {id: c, kind: tone, scope: channel, shift: {brevity: 0.2}}\n"
        "  - {id: s, kind: tone, scope: safety, shift: {directness: 0.1}}\n",
        {"personalised": False},
        {"formality": 0.5, "brevity": 0.7, "directness": 0.6},
    ),
    (
        "clamp is a floor over set",
        "  - {id: a, kind: tone, set: {brevity: 0.2}}\n"
        "  - {id: c, kind: tone, clamp: {brevity: [0.7, 1.0]}}\n",
        {},
        {"brevity": 0.7},
    ),
    (
        "conflicting clamps: higher priority wins",
        "  - {id: lo, kind: tone, priority: 9, clamp: {brevity: [0.0, 0.3]}}\n"
        "  - {id: hi, kind: tone, clamp: {brevity: [0.8, 1.0]}}\n",
        {},
        {"brevity": 0.3},
    ),
    (
        "conflicting clamps at equal priority: later in file wins",
        "  - {id: lo, kind: tone, clamp: {brevity: [0.0, 0.3]}}\n"
        "  - {id: hi, kind: tone, clamp: {brevity: [0.8, 1.0]}}\n",
        {},
        {"brevity": 0.8},
    ),
    (
        "compatible clamps intersect",
        "  - {id: a, kind: tone, set: {brevity: 0.1}}\n"
        "  - {id: c1, kind: tone, clamp: {brevity: [0.2, 0.9]}}\n"
        "  - {id: c2, kind: tone, clamp: {brevity: [0.4, 1.0]}}\n",
        {},
        {"brevity": 0.4},
    ),
    (
        "brand bounds beat an ordinary clamp",
        "  - {id: c, kind: tone, clamp: {empathy: [0.8, 1.0]}}\n",
        {},
        {"empathy": 0.6},
    ),
    (
        "an overrides_brand clamp beats brand bounds",
        "  - {id: c, kind: tone, clamp: {empathy: [0.8, 1.0]}, overrides_brand: true}\n",
        {},
        {"empathy": 0.8},
    ),
    (
        "brand bounds cap a set value",
        "  - {id: a, kind: tone, set: {warmth: 0.95}}\n",
        {},
        {"warmth": 0.6},
    ),
    (
        "brand bounds floor a shifted value",
        "  - {id: a, kind: tone, shift: {warmth: -0.4}}\n",
        {},
        {"warmth": 0.3},
    ),
    (
        "style: highest priority wins",
        "  - {id: a, kind: tone, priority: 3, style: calm}\n  - {id: b, kind: tone, style: chirpy}\n",
        {},
        {"style": "calm"},
    ),
    (
        "style: later wins at equal priority",
        "  - {id: a, kind: tone, style: calm}\n  - {id: b, kind: tone, style: chirpy}\n",
        {},
        {"style": "chirpy"},
    ),
    (
        "channel rules read the final channel",
        "  - {id: v, kind: tone, scope: channel, when: 'decision.channel == \"voice\"',"
        " set: {brevity: 0.9}}\n",
        {"channel": Channel.VOICE},
        {"brevity": 0.9},
    ),
    (
        "conditions see the neutral tone, not earlier rules' output",
        "  - {id: a, kind: tone, set: {formality: 0.9}}\n"
        "  - {id: b, kind: tone, when: 'tone.formality > 0.8', set: {warmth: 0.31}}\n",
        {},
        {"formality": 0.9, "warmth": 0.5},
    ),
]


@pytest.mark.parametrize(("rules", "options", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tone(rules: str, options: dict[str, Any], expected: dict[str, float | str]) -> None:
    tone = evaluate(rules, **options).tone
    for name, value in expected.items():
        if isinstance(value, str):
            assert getattr(tone, name) == value
        else:
            assert getattr(tone, name) == pytest.approx(value), (name, tone)


def test_conflicting_clamp_is_noted() -> None:
    notes = evaluate("  - {id: c, kind: tone, clamp: {empathy: [0.8, 1.0]}}\n").notes
    assert any("conflicts with higher-precedence brand bounds [0.2, 0.6]" in n for n in notes), notes


def test_value_expression_error_skips_the_value_and_notes_it() -> None:
    result = evaluate(
        "  - {id: bad, kind: tone, set: {formality: 'features.missing'}}\n"
        "  - {id: int, kind: tone, set: {warmth: '1 + 1 == 2'}}\n"
    )
    assert result.tone.formality == 0.5 and result.tone.warmth == 0.5
    notes = " | ".join(result.notes)
    assert "rule bad: formality not evaluable (KeyError" in notes
    assert "rule int: warmth gave True, not a number" in notes


def test_integer_expression_results_are_accepted() -> None:
    assert evaluate("  - {id: a, kind: tone, set: {warmth: '1 - 1'}}\n").tone.warmth == pytest.approx(0.3)


def test_arm_rerun_starts_tone_from_neutral_again() -> None:
    # A re-run with a tone shift for the same input reuses the first evaluation's CEL context: `w`
    # reads the tone before any rule sets it, so it must see the neutral tone again, not the first
    # run's final one (formality 0.9, put in the context for `b`), exactly as a full evaluation by a
    # fresh policy object does.
    rules = (
        "  - {id: w, kind: tone, when: 'tone.formality > 0.8', set: {warmth: 0.31}}\n"
        "  - {id: a, kind: tone, set: {formality: 0.9}}\n"
        "  - {id: b, kind: tone, priority: 1, set: {empathy: 'tone.formality - 0.5'}}\n"
    )
    policy, fresh = (load_policy(policy_yaml(rules, brand=BRAND)) for _ in range(2))
    inp = make_input(channel=Channel.CHAT)
    first = policy.evaluate(inp)
    assert first.tone.formality == pytest.approx(0.9) and first.tone.empathy == pytest.approx(0.4)
    assert "w" not in first.rules_fired
    shift: dict[ToneAttribute, float] = {"warmth": 0.05}
    rerun = policy.evaluate(inp, tone_shift=shift)
    assert "w" not in rerun.rules_fired
    assert rerun == fresh.evaluate(inp.model_copy(), tone_shift=shift)


def test_arm_rerun_executes_only_the_conditions_that_read_decision() -> None:
    # A re-run with an arm reuses the first evaluation's results for conditions that cannot change
    # with the arm (they do not read `decision`), replaying their notes, and executes the others:
    # the result is the full evaluation's, and each note appears once.
    rules = (
        "  - {id: broken, kind: action, action: clarify, when: 'features.missing > 1'}\n"
        "  - {id: calm, kind: tone, when: 'signals.anger < 0.5', set: {formality: 0.7}}\n"
        "  - {id: on-sms, kind: tone, when: 'decision.channel == \"sms\"', shift: {brevity: 0.3}}\n"
    )
    policy, fresh = (load_policy(policy_yaml(rules, brand=BRAND)) for _ in range(2))
    inp = make_input(channel=Channel.CHAT)
    first = policy.evaluate(inp)
    assert Channel.SMS in first.channel.fallbacks and "on-sms" not in first.rules_fired
    kept = policy._last.value.known  # type: ignore[attr-defined]
    ids = {r.index: r.id for r in (*policy._action_rules, *policy._tone_rules)}  # type: ignore[attr-defined]
    assert {ids[i] for i in kept if i in ids} == {"broken", "calm"}
    shift: dict[ToneAttribute, float] = {"warmth": 0.05}
    rerun = policy.evaluate(inp, channel=Channel.SMS, tone_shift=shift)
    assert "on-sms" in rerun.rules_fired and rerun.tone.brevity == pytest.approx(0.8)
    assert sum("rule broken: condition not evaluable" in n for n in rerun.notes) == 1
    assert rerun == fresh.evaluate(inp.model_copy(), channel=Channel.SMS, tone_shift=shift)


def test_arm_rerun_on_the_first_channel_reuses_its_action_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    # An arm that keeps the first evaluation's channel (a tone style only) gets that evaluation's
    # action outcome, rules and notes without running the action stage again; an arm on another
    # channel runs it. Both equal a full evaluation by a fresh policy object, each note once.
    rules = (
        "  - {id: broken, kind: action, action: clarify, when: 'features.missing > 1'}\n"
        "  - {id: on-chat, kind: action, action: offer_callback, when: 'decision.channel == \"chat\"'}\n"
        "  - {id: on-sms, kind: tone, when: 'decision.channel == \"sms\"', shift: {brevity: 0.3}}\n"
    )
    policy, fresh = (load_policy(policy_yaml(rules, brand=BRAND)) for _ in range(2))
    inp = make_input(channel=Channel.CHAT)
    first = policy.evaluate(inp)
    assert first.channel.primary is Channel.CHAT and "on-chat" in first.rules_fired
    kept = policy._last.value  # type: ignore[attr-defined]
    assert len(kept.action) == 1
    shift: dict[ToneAttribute, float] = {"warmth": 0.05}
    calls: list[object] = []
    real = compiled.choose_action

    def counting(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(compiled, "choose_action", counting)
    same = policy.evaluate(inp, channel=Channel.CHAT, tone_shift=shift)
    assert calls == []
    other = policy.evaluate(inp, channel=Channel.SMS, tone_shift=shift)
    assert len(calls) == 1
    assert same == fresh.evaluate(inp.model_copy(), channel=Channel.CHAT, tone_shift=shift)
    assert sum("rule broken: condition not evaluable" in n for n in same.notes) == 1
    assert other == fresh.evaluate(inp.model_copy(), channel=Channel.SMS, tone_shift=shift)
    assert "on-chat" not in other.rules_fired and "on-sms" in other.rules_fired
