"""Loading: every problem is a PolicyError naming file:line and the rule; content_hash; diff."""

from __future__ import annotations

import pytest
from policy_builders import DEFAULT_POLICY_PATH, default_policy

from tactful.errors import PolicyError
from tactful.policy import content_hash, diff_policies, load_policy

GOOD = """\
schema_version: 1
thresholds:
  angry: 0.5
rules:
  - id: angry-empathy
    kind: tone
    when: 'signals.anger >= thresholds.angry'
    clamp: {empathy: [0.7, 1.0]}
  - id: vip-handoff
    kind: action
    action: handoff_human
    when: 'customer.tier == "vip"'
"""


def broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


ERROR_CASES = [
    (
        "yaml syntax error",
        broken("    clamp: {empathy: [0.7, 1.0]}", "    clamp: {empathy: [0.7, 1.0]"),
        9,
        None,
        "the construct started at line 8",
    ),
    ("bad indentation", broken("    kind: action", "     kind: action"), 10, None, "YAML syntax error"),
    ("unknown top-level key", GOOD + "colour: blue\n", 13, None, "colour: unknown key"),
    (
        "unknown rule key",
        broken("    clamp:", "    clampp:"),
        8,
        "angry-empathy",
        "rules[0].clampp: unknown key",
    ),
    ("unknown tone attribute", broken("{empathy:", "{empathyy:"), 8, "angry-empathy", "'formality'"),
    (
        "unknown action",
        broken("action: handoff_human", "action: hand_off"),
        11,
        "vip-handoff",
        "rules[1].action",
    ),
    (
        "unknown kind",
        broken("kind: action", "kind: actoin"),
        10,
        "vip-handoff",
        "'tone', 'channel', 'action'",
    ),
    (
        "unknown channel",
        broken("kind: action\n", "kind: channel\n    effect: deny\n    channels: [fax]\n").replace(
            "    action: handoff_human\n", ""
        ),
        12,
        "vip-handoff",
        "rules[1].channels[0]",
    ),
    (
        "missing required key",
        broken("    action: handoff_human\n", ""),
        9,
        "vip-handoff",
        "rules[1].action: required",
    ),
    ("clamp out of order", broken("[0.7, 1.0]", "[0.9, 0.2]"), 8, "angry-empathy", "0 <= low <= high <= 1"),
    (
        "duplicate rule id",
        broken("id: vip-handoff", "id: angry-empathy"),
        9,
        "angry-empathy",
        "duplicate rule id 'angry-empathy' (first defined at line 5)",
    ),
    (
        "duplicate yaml key",
        broken("    kind: action\n", "    kind: action\n    kind: tone\n"),
        11,
        None,
        "duplicate key 'kind' (first at line 10)",
    ),
    (
        "bad CEL syntax",
        broken("'customer.tier == \"vip\"'", "'customer.tier == '"),
        12,
        "vip-handoff",
        "invalid CEL",
    ),
    (
        "unknown CEL name",
        broken("customer.tier", "custmer.tier"),
        12,
        "vip-handoff",
        "unknown name 'custmer'",
    ),
    (
        "unknown CEL field",
        broken("signals.anger", "signals.angr"),
        7,
        "angry-empathy",
        "unknown field signals.angr",
    ),
    (
        "unknown threshold",
        broken("thresholds.angry", "thresholds.furious"),
        7,
        "angry-empathy",
        "unknown field thresholds.furious",
    ),
    (
        "bad CEL in a tone value",
        broken("    clamp: {empathy: [0.7, 1.0]}", "    set: {empathy: '0.5 +'}"),
        8,
        "angry-empathy",
        "rules[0].set.empathy: invalid CEL",
    ),
    ("reserved rule id", broken("id: vip-handoff", "id: guardrail.mine"), 9, "guardrail.mine", "reserved"),
    ("schema version", broken("schema_version: 1", "schema_version: 2"), 1, None, "schema_version"),
    (
        "switch without channel",
        broken("handoff_human", "switch_channel"),
        9,
        "vip-handoff",
        "needs `channel:`",
    ),
    ("not a mapping", "- just\n- a list\n", 1, None, "mapping at the top level"),
    ("empty", "# nothing\n", 1, None, "empty"),
]


@pytest.mark.parametrize(
    ("source", "line", "rule_id", "fragment"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_policy_errors_name_file_line_and_rule(
    source: str, line: int, rule_id: str | None, fragment: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(source, source_name="tenants/acme.yaml")
    error = caught.value
    assert error.line == line, str(error)
    assert error.rule_id == rule_id, str(error)
    assert error.code == "policy_invalid"
    assert str(error).startswith(
        f"tenants/acme.yaml:{line}" + (f" [rule {rule_id}]" if rule_id else "") + ": "
    )
    assert fragment in str(error)


def test_several_schema_errors_are_listed_together() -> None:
    source = broken("    clamp:", "    clampp:").replace("kind: action", "kind: actoin")
    with pytest.raises(PolicyError) as caught:
        load_policy(source)
    assert caught.value.line == 8
    assert "also:" in str(caught.value) and "(line 10)" in str(caught.value)


def test_neutral_tone_must_sit_inside_brand_bounds() -> None:
    source = "schema_version: 1\nbrand:\n  neutral_tone: {warmth: 0.1}\n  bounds:\n    warmth: [0.2, 1.0]\n"
    with pytest.raises(PolicyError, match=r"<policy>:5: brand.neutral_tone.warmth = 0.1 is outside"):
        load_policy(source)


def test_alias_bombs_are_refused() -> None:
    bomb = "schema_version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 7):
        bomb += f"b{i}: &b{i} [{', '.join(['*a' if i == 1 else f'*b{i - 1}'] * 10)}]\n"
    with pytest.raises(PolicyError, match="nodes after alias expansion"):
        load_policy(bomb)


def test_default_policy_loads_with_every_rule() -> None:
    policy = default_policy()
    assert policy.neutral_tone.formality == 0.6
    assert len(policy.rule_ids) == len(set(policy.rule_ids)) >= 15
    assert policy.content_hash == content_hash(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def test_version_label_is_carried_into_results() -> None:
    policy = load_policy(GOOD, version_label="v3+1a2b3c4d")
    assert policy.version_label == "v3+1a2b3c4d"


# --------------------------------------------------------------------------- content_hash

REFORMATTED = """\
# same policy, reformatted and commented
schema_version: 1
rules:
- {id: angry-empathy, kind: tone, when: 'signals.anger >= thresholds.angry', clamp: {empathy: [0.7, 1.0]}}
- id: vip-handoff
  when: 'customer.tier == "vip"'   # VIPs
  kind: action
  action: handoff_human
thresholds: {angry: 0.5}
"""


def test_content_hash_ignores_whitespace_comments_and_key_order() -> None:
    assert content_hash(GOOD) == content_hash(REFORMATTED)
    assert len(content_hash(GOOD)) == 64
    assert int(content_hash(GOOD), 16) >= 0


@pytest.mark.parametrize(
    "edit",
    [("0.5", "0.55"), ("vip-handoff", "vip-hand-off"), ("handoff_human", "escalate")],
)
def test_content_hash_changes_with_content(edit: tuple[str, str]) -> None:
    assert content_hash(GOOD) != content_hash(GOOD.replace(*edit))


def test_content_hash_of_invalid_yaml_is_a_policy_error() -> None:
    with pytest.raises(PolicyError):
        content_hash("rules: [")


# --------------------------------------------------------------------------- diff


def test_diff_of_reformatting_is_empty() -> None:
    assert diff_policies(GOOD, REFORMATTED) == []


def test_diff_reports_rule_and_setting_changes() -> None:
    new = (
        GOOD.replace("angry: 0.5", "angry: 0.6").replace(
            "action: handoff_human", "action: escalate\n    priority: 5"
        )
        + "  - id: sms-brief\n    kind: tone\n    scope: channel\n    clamp: {brevity: [0.8, 1.0]}\n"
    )
    new = new.replace(
        "  - id: angry-empathy\n    kind: tone\n    when: 'signals.anger >= thresholds.angry'\n"
        "    clamp: {empathy: [0.7, 1.0]}\n",
        "",
    )
    assert diff_policies(GOOD, new) == [
        "~ thresholds.angry: 0.5 → 0.6",
        "- rule angry-empathy (tone)",
        "~ rule vip-handoff: priority: 0 → 5",
        '~ rule vip-handoff: action: "handoff_human" → "escalate"',
        '+ rule sms-brief (tone) when "true"',
    ]


def test_diff_reports_reordering() -> None:
    first, second = GOOD.split("  - id: vip-handoff\n")
    head, rule_a = first.split("rules:\n")
    swapped = head + "rules:\n  - id: vip-handoff\n" + second + rule_a
    assert diff_policies(GOOD, swapped) == [
        "~ rule vip-handoff: moved from position 2 to 1",
        "~ rule angry-empathy: moved from position 1 to 2",
    ]
