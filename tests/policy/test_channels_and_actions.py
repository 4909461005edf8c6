"""Channel precedence (guardrails > deny > allow > prefer) and action resolution."""

from __future__ import annotations

from typing import Any

import pytest
from policy_builders import make_input, policy_yaml

from tactful.domain import ActionType, Channel, Preferences
from tactful.policy import PolicyResult, load_policy

CHANNELS = "  preference: [chat, email, sms]"


def evaluate(rules: str, **kwargs: Any) -> PolicyResult:
    return load_policy(policy_yaml(rules, channels=CHANNELS)).evaluate(make_input(**kwargs))


def test_candidates_are_inbound_then_preferred_then_policy_order() -> None:
    result = evaluate("", channel=Channel.EMAIL, preferences=Preferences(preferred_channel=Channel.SMS))
    assert result.channel.primary is Channel.EMAIL
    assert result.channel.fallbacks == (Channel.SMS, Channel.CHAT)


def test_allow_adds_a_channel_and_deny_beats_it() -> None:
    allow = "  - {id: allow-dm, kind: channel, effect: allow, channels: [social_dm]}\n"
    assert evaluate(allow).channel.fallbacks == (Channel.EMAIL, Channel.SMS, Channel.SOCIAL_DM)
    deny = "  - {id: no-dm, kind: channel, effect: deny, channels: [social_dm], reason: nope}\n"
    result = evaluate(deny + allow)  # deny wins whatever the order
    assert Channel.SOCIAL_DM not in result.channel.fallbacks
    assert [(c.channel, c.rule_id, c.reason) for c in result.channel.removed] == [
        (Channel.SOCIAL_DM, "no-dm", "nope")
    ]
    assert result.rules_fired == ("no-dm", "allow-dm")


def test_prefer_orders_fallbacks_by_priority_then_file_order() -> None:
    rules = (
        "  - {id: p1, kind: channel, effect: prefer, channels: [sms]}\n"
        "  - {id: p2, kind: channel, effect: prefer, priority: 1, channels: [email]}\n"
    )
    assert evaluate(rules, channel=Channel.VOICE).channel.fallbacks == (
        Channel.EMAIL,
        Channel.SMS,
        Channel.CHAT,
    )


def test_prefer_picks_the_primary_when_inbound_is_denied() -> None:
    rules = (
        "  - {id: no-chat, kind: channel, effect: deny, channels: [chat]}\n"
        "  - {id: p, kind: channel, effect: prefer, channels: [sms]}\n"
    )
    result = evaluate(rules)
    assert (result.channel.primary, result.proactive) == (Channel.SMS, True)


def test_allow_cannot_override_a_guardrail() -> None:
    rules = "  - {id: allow-sms, kind: channel, effect: allow, channels: [sms]}\n"
    result = evaluate(rules, preferences=Preferences(opted_out=frozenset({Channel.SMS})))
    assert Channel.SMS not in result.channel.fallbacks
    assert result.rules_fired == ("guardrail.consent.opt_out", "allow-sms")


ACTION_CASES = [
    (
        "highest priority wins",
        "  - {id: a, kind: action, action: escalate}\n"
        "  - {id: b, kind: action, action: clarify, priority: 1}\n",
        ActionType.CLARIFY,
        "b",
    ),
    (
        "equal priority: severity order",
        "  - {id: a, kind: action, action: clarify}\n  - {id: b, kind: action, action: handoff_human}\n"
        "  - {id: c, kind: action, action: offer_callback}\n",
        ActionType.HANDOFF_HUMAN,
        "b",
    ),
    (
        "equal priority and action: the later rule is named",
        "  - {id: a, kind: action, action: escalate}\n  - {id: b, kind: action, action: escalate}\n",
        ActionType.ESCALATE,
        "b",
    ),
    (
        "unmatched rules do nothing",
        "  - {id: a, kind: action, action: escalate, when: 'signals.urgency > 0.5'}\n",
        ActionType.REPLY,
        None,
    ),
    (
        "switch_channel to an allowed channel",
        "  - {id: s, kind: action, action: switch_channel, channel: email}\n",
        ActionType.SWITCH_CHANNEL,
        "s",
    ),
    (
        "switch_channel to an opted-out channel falls back to the next matched action",
        "  - {id: s, kind: action, action: switch_channel, channel: sms, priority: 5}\n"
        "  - {id: c, kind: action, action: clarify}\n",
        ActionType.CLARIFY,
        "c",
    ),
    (
        "an impossible callback with nothing behind it becomes a reply",
        "  - {id: cb, kind: action, action: offer_callback}\n",
        ActionType.REPLY,
        None,
    ),
]


@pytest.mark.parametrize(
    ("rules", "action", "rule_id"), [c[1:] for c in ACTION_CASES], ids=[c[0] for c in ACTION_CASES]
)
def test_action_resolution(rules: str, action: ActionType, rule_id: str | None) -> None:
    prefs = Preferences(opted_out=frozenset({Channel.SMS, Channel.VOICE}))
    result = evaluate(rules, preferences=prefs)
    assert (result.action.type, result.action.rule_id) == (action, rule_id)


def test_switch_channel_makes_the_target_primary_and_keeps_the_inbound_as_fallback() -> None:
    result = evaluate("  - {id: s, kind: action, action: switch_channel, channel: email}\n")
    assert result.channel.primary is Channel.EMAIL
    assert result.channel.fallbacks[0] is Channel.CHAT
    assert result.proactive is True


def test_switch_to_the_current_channel_is_not_a_switch() -> None:
    result = evaluate("  - {id: s, kind: action, action: switch_channel, channel: chat}\n")
    assert result.action.type is ActionType.REPLY
    assert any("already on chat" in n for n in result.notes)


def test_condition_errors_are_not_matches_and_are_noted() -> None:
    rules = (
        "  - {id: boom, kind: action, action: escalate, when: 'features.tier_score > 0.5'}\n"
        "  - {id: not-bool, kind: action, action: escalate, when: 'signals.urgency'}\n"
        "  - {id: div, kind: action, action: escalate, when: 'message.length / 0 > 1'}\n"
    )
    result = evaluate(rules)
    assert result.action.type is ActionType.REPLY
    assert result.rules_fired == ()
    joined = " | ".join(result.notes)
    assert "rule boom: condition not evaluable (KeyError" in joined
    assert "rule not-bool: condition gave float, not a bool" in joined
    assert "rule div: condition not evaluable" in joined


def test_features_that_are_not_plain_data_are_dropped_with_a_note() -> None:
    rules = "  - {id: f, kind: action, action: escalate, when: 'features.blob == 1'}\n"
    result = evaluate(rules, features={"blob": object()})
    assert result.action.type is ActionType.REPLY
    assert any("features not usable in conditions" in n for n in result.notes)


def test_features_drive_conditions() -> None:
    rules = "  - {id: f, kind: action, action: escalate, when: 'features.open_tickets >= 3'}\n"
    assert evaluate(rules, features={"open_tickets": 3}).action.type is ActionType.ESCALATE
    assert evaluate(rules, features={"open_tickets": 2}).action.type is ActionType.REPLY
