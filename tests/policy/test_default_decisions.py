# ruff: noqa: E501  (one decision a line: the table reads better unwrapped)
"""The default policy's first actions and care on support turns (issue 10; docs/decision-quality.md).

Each row: the signals a message produced → what the default policy must decide. The signals are set
directly so these rules are checked apart from the models that produce them.
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_builders import default_policy, make_input

from tactful.domain import ActionType, Channel

R = 0.9  # a confident risk flag
CARE, CALM, EITHER = True, False, None  # empathy >= 0.7 / the care rule silent / not checked
ROWS: list[tuple[str, dict[str, Any], ActionType, bool | None]] = [
    ("legal threat escalates", {"risks": {"legal_threat": R}}, ActionType.ESCALATE, CARE),
    ("press threat escalates", {"risks": {"media_threat": R}, "channel": Channel.SOCIAL}, ActionType.ESCALATE, CARE),
    ("regulator threat escalates", {"risks": {"regulator_threat": R}}, ActionType.ESCALATE, CARE),
    ("account takeover escalates", {"risks": {"account_takeover": R}}, ActionType.ESCALATE, CARE),
    ("fraud report escalates", {"risks": {"fraud": R}, "channel": Channel.SMS}, ActionType.ESCALATE, CARE),
    ("a weak risk flag does not", {"risks": {"legal_threat": 0.2}}, ActionType.REPLY, CALM),
    ("asks for a human: hand-off", {"wants_human": 0.9}, ActionType.HANDOFF_HUMAN, CARE),
    ("human intent, even unsure", {"intent": "human_agent", "intent_confidence": 0.35}, ActionType.HANDOFF_HUMAN, EITHER),
    ("a threat outranks a human request", {"wants_human": 0.9, "risks": {"legal_threat": R}}, ActionType.ESCALATE, CARE),
    ("spam gets no reply", {"intent": "spam", "intent_confidence": 0.9, "channel": Channel.SOCIAL}, ActionType.NO_CONTACT, CALM),
    ("unsure spam is answered", {"intent": "spam", "intent_confidence": 0.45}, ActionType.REPLY, CALM),
    ("spam asking for a human: a person decides", {"intent": "spam", "intent_confidence": 0.9, "wants_human": 0.9}, ActionType.HANDOFF_HUMAN, CARE),
    ("unclear intent: clarify", {"intent": "other", "intent_confidence": 0.2}, ActionType.CLARIFY, CALM),
    ("angry: empathy", {"anger": 0.6, "valence": -0.2}, ActionType.REPLY, CARE),
    ("negative: empathy", {"valence": -0.45}, ActionType.REPLY, CARE),
    ("very frustrated: empathy", {"frustration": 0.7}, ActionType.REPLY, CARE),
    ("urgent and angry: a person", {"urgency": 0.9, "valence": -0.7, "anger": 0.6}, ActionType.HANDOFF_HUMAN, CARE),
    ("urgent, negative, not angry: a reply", {"urgency": 0.9, "valence": -0.4, "anger": 0.1}, ActionType.REPLY, CARE),
    ("an ordinary question: a reply", {"intent": "order_status", "valence": 0.1}, ActionType.REPLY, CALM),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "action", "care"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_default_policy_decides_support_turns(
    fields: dict[str, Any], action: ActionType, care: bool | None
) -> None:
    fields = dict(fields)
    channel = fields.pop("channel", Channel.CHAT)
    result = default_policy().evaluate(make_input(channel=channel, **fields))
    assert result.action.type is action, (result.rules_fired, result.notes)
    if action is ActionType.NO_CONTACT:
        assert result.channel.primary is None  # nothing goes out, not even in public
    if care is CARE:
        assert result.tone.empathy >= 0.7 - 1e-9, result.tone
    elif care is CALM:
        assert "angry-empathy" not in result.rules_fired
