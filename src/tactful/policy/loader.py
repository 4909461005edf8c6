"""``load_policy``: YAML → schema validation → CEL compilation → ``CompiledPolicy``.

Every problem is a ``PolicyError`` naming the source, the line and (when there is one) the rule id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tactful.domain import ActionType, ToneAttribute
from tactful.errors import PolicyError
from tactful.policy.compiled import CompiledPolicy
from tactful.policy.expressions import Expression, ExpressionError, compile_expression
from tactful.policy.facts import FactBuilder, merge_needs
from tactful.policy.rules import ActionRule, ChannelRule, ToneRule, ToneValue
from tactful.policy.schema import ActionRuleSpec, ChannelRuleSpec, PolicyDocument, ToneRuleSpec
from tactful.policy.source import ParsedSource, canonical_json, parse_source

_MAX_LISTED_ERRORS = 5


def load_policy(
    source: str, *, source_name: str = "<policy>", version_label: str = "draft"
) -> CompiledPolicy:
    parsed = parse_source(source, source_name)
    if not isinstance(parsed.data, dict):
        raise PolicyError("a policy must be a YAML mapping at the top level", source=source_name, line=1)
    try:
        document = PolicyDocument.model_validate(parsed.data)
    except ValidationError as exc:
        raise _schema_error(exc, parsed, source_name) from None
    return _compile(document, parsed, source_name, version_label)


def load_policy_file(path: str | Path, *, version_label: str = "draft") -> CompiledPolicy:
    """Convenience for files: the path becomes the ``source_name`` in error messages."""
    file = Path(path)
    return load_policy(file.read_text(encoding="utf-8"), source_name=str(file), version_label=version_label)


class _Compiler:
    def __init__(self, parsed: ParsedSource, source_name: str, thresholds: Mapping[str, float]) -> None:
        self.parsed = parsed
        self.source_name = source_name
        self.thresholds = thresholds
        self.expressions: list[Expression] = []

    def expression(self, text: str, loc: tuple[str | int, ...], rule_id: str | None) -> Expression:
        try:
            compiled = compile_expression(text, thresholds=self.thresholds)
        except ExpressionError as exc:
            where = _display(loc, self.parsed.data)
            raise PolicyError(
                f"{where}: {exc}", source=self.source_name, line=self.parsed.line_for(loc), rule_id=rule_id
            ) from None
        self.expressions.append(compiled)
        return compiled

    def tone_values(
        self, values: dict[ToneAttribute, float | str], loc: tuple[str | int, ...], rule_id: str
    ) -> tuple[tuple[ToneAttribute, ToneValue], ...]:
        out: list[tuple[ToneAttribute, ToneValue]] = []
        for attribute, value in values.items():
            spec: ToneValue = (
                float(value)
                if not isinstance(value, str)
                else self.expression(value, (*loc, attribute), rule_id)
            )
            out.append((attribute, spec))
        return tuple(out)


def _compile(
    document: PolicyDocument, parsed: ParsedSource, source_name: str, version_label: str
) -> CompiledPolicy:
    _check_unique_ids(document, parsed, source_name)
    _check_neutral_within_bounds(document, parsed, source_name)
    compiler = _Compiler(parsed, source_name, document.thresholds)
    channel_rules: list[ChannelRule] = []
    action_rules: list[ActionRule] = []
    tone_rules: list[ToneRule] = []
    for index, spec in enumerate(document.rules):
        loc: tuple[str | int, ...] = ("rules", index)
        common: dict[str, Any] = {
            "id": spec.id,
            "index": index,
            "line": parsed.line_for(loc),
            "priority": spec.priority,
            "when": compiler.expression(spec.when, (*loc, "when"), spec.id),
            "reason": spec.reason,
        }
        if isinstance(spec, ChannelRuleSpec):
            channel_rules.append(ChannelRule(**common, effect=spec.effect, channels=tuple(spec.channels)))
        elif isinstance(spec, ActionRuleSpec):
            action_rules.append(ActionRule(**common, action=ActionType(spec.action), channel=spec.channel))
        elif isinstance(spec, ToneRuleSpec):
            tone_rules.append(
                ToneRule(
                    **common,
                    scope=spec.scope,
                    sets=compiler.tone_values(spec.set_, (*loc, "set"), spec.id),
                    shifts=compiler.tone_values(spec.shift, (*loc, "shift"), spec.id),
                    clamps=tuple((a, lo, hi) for a, (lo, hi) in spec.clamp.items()),
                    style=spec.style,
                    overrides_brand=spec.overrides_brand,
                )
            )
    # The engine always sets `tone` and `decision`; they are converted only if some expression reads them.
    facts = FactBuilder(merge_needs(e.needs for e in compiler.expressions), document.thresholds)
    return CompiledPolicy(
        document=document,
        content_hash=hashlib.sha256(canonical_json(parsed.data).encode("utf-8")).hexdigest(),
        source_name=source_name,
        version_label=version_label,
        channel_rules=tuple(channel_rules),
        action_rules=tuple(action_rules),
        tone_rules=tuple(tone_rules),
        facts=facts,
    )


def _check_unique_ids(document: PolicyDocument, parsed: ParsedSource, source_name: str) -> None:
    first: dict[str, int] = {}
    for index, rule in enumerate(document.rules):
        if rule.id in first:
            earlier = parsed.line_for(("rules", first[rule.id], "id"))
            raise PolicyError(
                f"duplicate rule id {rule.id!r} (first defined at line {earlier})",
                source=source_name,
                line=parsed.line_for(("rules", index, "id")),
                rule_id=rule.id,
            )
        first[rule.id] = index


def _check_neutral_within_bounds(document: PolicyDocument, parsed: ParsedSource, source_name: str) -> None:
    neutral = document.brand.neutral_tone
    for attribute, (lo, hi) in document.brand.bounds.items():
        value = getattr(neutral, attribute)
        if not lo <= value <= hi:
            raise PolicyError(
                f"brand.neutral_tone.{attribute} = {value:g} is outside "
                f"brand.bounds.{attribute} [{lo:g}, {hi:g}]",
                source=source_name,
                line=parsed.line_for(("brand", "bounds", attribute)),
            )


def _schema_error(exc: ValidationError, parsed: ParsedSource, source_name: str) -> PolicyError:
    problems: list[tuple[str, int | None, str | None]] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = _document_loc(error)
        where = _display(loc, parsed.data)
        text = f"{where}: {_message(error)}"
        if text in seen:
            continue
        seen.add(text)
        problems.append((text, parsed.line_for(loc), _rule_id(loc, parsed.data)))
    text, line, rule_id = problems[0]
    if len(problems) > 1:
        others = [f"{t} (line {ln})" for t, ln, _ in problems[1:_MAX_LISTED_ERRORS]]
        more = len(problems) - _MAX_LISTED_ERRORS
        text += "; also: " + "; ".join(others) + (f"; and {more} more" if more > 0 else "")
    return PolicyError(text, source=source_name, line=line, rule_id=rule_id)


_RULE_KINDS = frozenset({"tone", "channel", "action"})


def _document_loc(error: ErrorDetails) -> tuple[str | int, ...]:
    """The error's location in the document: without pydantic's union tag, and at ``kind`` for tag errors."""
    loc = tuple(error["loc"])
    if len(loc) > 2 and loc[0] == "rules" and isinstance(loc[1], int) and loc[2] in _RULE_KINDS:
        loc = loc[:2] + loc[3:]  # pydantic nests a discriminated member's errors under its tag
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "kind")
    return loc


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key missing"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _display(loc: Sequence[str | int], data: Any) -> str:
    """``rules[3].clamp.brevity`` for a pydantic location, without its union-tag and type markers."""
    parts: list[str] = []
    node = data
    for position, element in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            parts.append(f"[{element}]")
            node = node[element]
        elif isinstance(node, dict) and element in node:
            parts.append(f".{element}")
            node = node[element]
        elif isinstance(node, dict) and last and element != "[key]":
            parts.append(f".{element}")
        elif not isinstance(node, dict | list):
            break  # a type marker under a scalar (e.g. "float" of float | str)
    return "".join(parts).lstrip(".") or "(top level)"


def _rule_id(loc: Sequence[str | int], data: Any) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and 0 <= loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            rule_id = rules[loc[1]].get("id")
            return str(rule_id) if rule_id is not None else None
    return None
