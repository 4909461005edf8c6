"""The facts CEL expressions see, built once per evaluation into one ``cel.Context``.

Only the fields some expression of the policy reads are converted (see ``FieldNeeds``): converting a
Python value into CEL costs about a microsecond, so a full activation would cost ~0.2 ms per decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import cel

from tactful.domain import TONE_ATTRIBUTES, Channel, Risk, ToneAttribute
from tactful.policy.local_time import LocalClock
from tactful.policy.types import PolicyInput

#: root -> the fields read from it, or None when an expression uses the root as a whole.
FieldNeeds = Mapping[str, frozenset[str] | None]

FACT_FIELDS: dict[str, frozenset[str]] = {
    "message": frozenset({"channel", "length"}),
    "signals": frozenset(
        {
            "language",
            "language_confidence",
            "sentiment",
            "valence",
            "emotions",
            "frustration",
            "anger",
            "urgency",
            "formality",
            "politeness",
            "intent",
            "intent_confidence",
            "injection",
            "wants_human",
            "risks",
            "pii",
            "has_pii",
            "tier",
        }
    ),
    "customer": frozenset(
        {"tier", "tenure_days", "language", "time_zone", "accessibility_needs", "personalisation"}
    ),
    "prefs": frozenset({"preferred_channel", "do_not_contact", "opted_out", "opted_in"}),
    "tone": frozenset({*TONE_ATTRIBUTES, "style"}),
    "decision": frozenset({"channel", "inbound_channel", "proactive", "action"}),
    "now": frozenset({"hour_local", "minute_local", "weekday_local", "in_quiet_hours", "time_zone_known"}),
}
FREE_FORM_ROOTS = frozenset({"features"})
ROOTS = frozenset({*FACT_FIELDS, "features", "thresholds"})


def merge_needs(parts: Iterable[FieldNeeds]) -> dict[str, frozenset[str] | None]:
    merged: dict[str, frozenset[str] | None] = {}
    for part in parts:
        for root, fields in part.items():
            if root in merged and merged[root] is None:
                continue
            if fields is None:
                merged[root] = None
            else:
                merged[root] = (merged.get(root) or frozenset()) | fields
    return merged


def _select(full: dict[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    if fields is None:
        return full
    return {k: full[k] for k in fields if k in full}


def _message(inp: PolicyInput, _clock: LocalClock) -> dict[str, Any]:
    return {"channel": inp.message.channel.value, "length": len(inp.message.text)}


def _signals(inp: PolicyInput, _clock: LocalClock) -> dict[str, Any]:
    s = inp.signals
    return {
        "language": s.language,
        "language_confidence": s.language_confidence,
        "sentiment": s.sentiment.value,
        "valence": s.valence,
        "emotions": dict(s.emotions),
        "frustration": s.frustration,
        "anger": s.anger,
        "urgency": s.urgency,
        "formality": s.formality,
        "politeness": s.politeness,
        "intent": s.intent,
        "intent_confidence": s.intent_confidence,
        "injection": s.injection,
        "wants_human": s.wants_human,
        # Every known risk is present (0.0 when not found), so a condition never meets a missing key.
        "risks": {risk.value: s.risks.get(risk.value, 0.0) for risk in Risk},
        "pii": [finding.kind for finding in s.pii],
        "has_pii": bool(s.pii),
        "tier": s.tier,
    }


def _customer(inp: PolicyInput, clock: LocalClock) -> dict[str, Any]:
    profile = inp.profile
    if profile is None:  # personalisation off: neutral values, nothing read from the profile
        return {
            "tier": "unknown",
            "tenure_days": 0,
            "language": "",
            "time_zone": clock.zone_name or "",
            "accessibility_needs": [],
            "personalisation": "off",
        }
    return {
        "tier": profile.tier.value,
        "tenure_days": profile.tenure_days,
        "language": profile.language,
        "time_zone": profile.time_zone,
        "accessibility_needs": list(profile.accessibility_needs),
        "personalisation": inp.preferences.personalisation.value,
    }


def _prefs(inp: PolicyInput, _clock: LocalClock) -> dict[str, Any]:
    p = inp.preferences
    return {
        "preferred_channel": p.preferred_channel.value if p.preferred_channel else "",
        "do_not_contact": p.do_not_contact,
        "opted_out": sorted(c.value for c in p.opted_out),
        "opted_in": sorted(c.value for c in p.opted_in),
    }


def _now(_inp: PolicyInput, clock: LocalClock) -> dict[str, Any]:
    return {
        "hour_local": clock.local.hour,
        "minute_local": clock.local.minute,
        "weekday_local": clock.local.isoweekday(),  # 1 = Monday … 7 = Sunday
        "in_quiet_hours": clock.in_quiet_hours,
        "time_zone_known": clock.zone_name is not None,
    }


_STATIC_BUILDERS: dict[str, Callable[[PolicyInput, LocalClock], dict[str, Any]]] = {
    "message": _message,
    "signals": _signals,
    "customer": _customer,
    "prefs": _prefs,
    "now": _now,
}


def _cel_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_cel_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _cel_safe(v) for k, v in value.items())
    return False


class FactBuilder:
    """Prepared once per policy: which roots and fields to convert."""

    __slots__ = ("_needs", "_thresholds")

    def __init__(self, needs: FieldNeeds, thresholds: Mapping[str, float]) -> None:
        self._needs = dict(needs)
        wanted = self._needs.get("thresholds", frozenset())
        self._thresholds = dict(thresholds) if wanted is None else {k: thresholds[k] for k in wanted}

    def needs(self, root: str) -> bool:
        return root in self._needs

    def context(self, inp: PolicyInput, clock: LocalClock, notes: list[str]) -> cel.Context:
        ctx = cel.Context()
        for root, build in _STATIC_BUILDERS.items():
            if root in self._needs:
                ctx.add_variable(root, _select(build(inp, clock), self._needs[root]))
        if "thresholds" in self._needs:
            ctx.add_variable("thresholds", self._thresholds)
        if "features" in self._needs:
            features = _select(inp.features, self._needs["features"])
            unsafe = sorted(k for k, v in features.items() if not _cel_safe(v))
            if unsafe:
                # Dropped keys read as missing, so rules using them do not match (and say so).
                notes.append(f"features not usable in conditions (not plain data): {', '.join(unsafe)}")
                features = {k: v for k, v in features.items() if k not in unsafe}
            ctx.add_variable("features", features)
        return ctx

    def set_tone(self, ctx: cel.Context, values: Mapping[ToneAttribute, float], style: str) -> None:
        if "tone" in self._needs:
            full: dict[str, Any] = {"style": style}
            full.update(values.items())
            ctx.add_variable("tone", _select(full, self._needs["tone"]))

    def set_decision(
        self, ctx: cel.Context, *, channel: Channel | None, inbound: Channel, proactive: bool, action: str
    ) -> None:
        if "decision" in self._needs:
            full = {
                "channel": channel.value if channel is not None else "",
                "inbound_channel": inbound.value,
                "proactive": proactive,
                "action": action,
            }
            ctx.add_variable("decision", _select(full, self._needs["decision"]))
