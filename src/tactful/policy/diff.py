"""A rule-level, human-readable diff between two policy versions (for review before publishing).

Lines: ``~ path: old → new`` for settings; ``+ rule x (kind)``, ``- rule y (kind)``,
``~ rule z: field: old → new`` and ``~ rule z: moved from position 2 to 4`` for rules. Both sources are
fully validated first, so defaults written out explicitly are not reported as changes.
"""

from __future__ import annotations

import json
from typing import Any

from tactful.policy.loader import load_policy

_MISSING = object()


def diff_policies(old_source: str, new_source: str) -> list[str]:
    old = load_policy(old_source, source_name="<old policy>").document
    new = load_policy(new_source, source_name="<new policy>").document
    lines = _settings_diff(
        _flatten(old.model_dump(mode="json", by_alias=True, exclude={"rules"})),
        _flatten(new.model_dump(mode="json", by_alias=True, exclude={"rules"})),
    )
    old_rules = {r.id: r.model_dump(mode="json", by_alias=True) for r in old.rules}
    new_rules = {r.id: r.model_dump(mode="json", by_alias=True) for r in new.rules}
    for rule_id, rule in old_rules.items():
        if rule_id not in new_rules:
            lines.append(f"- rule {rule_id} ({rule['kind']})")
    for rule_id, rule in new_rules.items():
        before = old_rules.get(rule_id)
        if before is None:
            lines.append(f"+ rule {rule_id} ({rule['kind']}) when {_show(rule['when'])}")
            continue
        for key in dict.fromkeys([*before, *rule]):
            was, now = before.get(key, _MISSING), rule.get(key, _MISSING)
            if was != now:
                lines.append(f"~ rule {rule_id}: {key}: {_show(was)} → {_show(now)}")
    lines.extend(_moves([r for r in old_rules if r in new_rules], [r for r in new_rules if r in old_rules]))
    return lines


def _settings_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path, _MISSING), new.get(path, _MISSING)
        if was == now:
            continue
        if was is _MISSING:
            lines.append(f"+ {path}: {_show(now)}")
        elif now is _MISSING:
            lines.append(f"- {path}: {_show(was)}")
        else:
            lines.append(f"~ {path}: {_show(was)} → {_show(now)}")
    return lines


def _moves(old_order: list[str], new_order: list[str]) -> list[str]:
    # Only the relative order of rules present in both versions matters: it decides ties.
    if old_order == new_order:
        return []
    return [
        f"~ rule {rule_id}: moved from position {old_order.index(rule_id) + 1} to {position + 1}"
        for position, rule_id in enumerate(new_order)
        if old_order.index(rule_id) != position
    ]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False)
