"""Tone stage. The order, and so the precedence, is fixed:

1. start from the brand's neutral tone;
2. personal rules (skipped when personalisation is off): ``set`` then ``shift``, each in
   (priority, file order) so the higher-priority / later rule is applied last and wins;
3. scale the personal deviation from neutral by the intensity factor (low 0.5, standard/full 1.0);
4. ``channel`` and ``safety`` scope rules: ``set`` then ``shift`` in the same order (not scaled, and
   applied with personalisation off: channel format and care for an upset customer are not
   personalisation);
5. constraints, highest precedence first: clamps marked ``overrides_brand`` → brand bounds → other
   clamps; within a group higher priority, then later in file, wins. A lower-precedence constraint is
   intersected with what the higher ones allow, and only the compatible part of it is applied;
6. clip to [0, 1]. Style: the matched rule with a ``style`` of highest (priority, file order).

Conditions are evaluated once, at the start of the stage, with ``tone`` = the neutral tone; value
expressions in ``set``/``shift`` see the tone as computed so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tactful.domain import TONE_ATTRIBUTES, ToneAttribute, ToneProfile
from tactful.policy.evaluation import Evaluation
from tactful.policy.rules import ToneRule, ToneValue

Interval = tuple[float, float]


def _clip(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


class _ToneState:
    __slots__ = ("dirty", "ev", "style", "values")

    def __init__(self, neutral: ToneProfile, ev: Evaluation) -> None:
        self.values: dict[ToneAttribute, float] = neutral.attributes()
        self.style = neutral.style
        self.ev = ev
        self.dirty = False

    def value(self, rule: ToneRule, attribute: ToneAttribute, spec: ToneValue) -> float | None:
        if isinstance(spec, float):
            return spec
        if spec.reads_tone and self.dirty:
            self.ev.facts.set_tone(self.ev.ctx, self.values, self.style)
            self.dirty = False
        return self.ev.number(rule, attribute, spec)

    def apply(self, rules: Iterable[ToneRule]) -> None:
        for rule in rules:
            for attribute, spec in rule.sets:
                value = self.value(rule, attribute, spec)
                if value is not None:
                    self.values[attribute] = _clip(value)
                    self.dirty = True
        for rule in rules:
            for attribute, spec in rule.shifts:
                delta = self.value(rule, attribute, spec)
                if delta is not None:
                    self.values[attribute] = _clip(self.values[attribute] + delta)
                    self.dirty = True


def compute_tone(
    neutral: ToneProfile,
    bounds: Mapping[ToneAttribute, Interval],
    rules: tuple[ToneRule, ...],
    *,
    personalised: bool,
    intensity: float,
    ev: Evaluation,
    extra_shift: Mapping[ToneAttribute, float] | None = None,
) -> ToneProfile:
    active = [r for r in rules if personalised or r.scope != "personal"]
    matched = [r for r in active if ev.matches(r)]
    for rule in matched:
        ev.fire(rule.id)
    ordered = sorted(matched, key=lambda r: (r.priority, r.index))

    state = _ToneState(neutral, ev)
    state.apply([r for r in ordered if r.scope == "personal"])
    if intensity != 1.0:
        base = neutral.attributes()
        for attribute in TONE_ATTRIBUTES:
            state.values[attribute] = base[attribute] + intensity * (
                state.values[attribute] - base[attribute]
            )
        state.dirty = True
    state.apply([r for r in ordered if r.scope != "personal"])
    # A learner's tone style (issue 4): after every rule, before the constraints, so clamps and
    # brand bounds bound it exactly as they bound the rules.
    for attribute, delta in (extra_shift or {}).items():
        state.values[attribute] = _clip(state.values[attribute] + delta)

    clamping = [r for r in reversed(ordered) if r.clamps]  # highest (priority, file order) first
    final = {a: _constrain(a, state.values[a], bounds.get(a), clamping, ev) for a in TONE_ATTRIBUTES}
    styled = [r for r in ordered if r.style is not None]
    style = styled[-1].style if styled and styled[-1].style else neutral.style
    # Four decimals: more precision means nothing for tone, and float noise (0.5228999999999999)
    # would leak into decisions, hashes and diffs.
    return ToneProfile(**{a: round(v, 4) for a, v in final.items()}, style=style)


def _constrain(
    attribute: ToneAttribute,
    value: float,
    brand: Interval | None,
    descending: list[ToneRule],
    ev: Evaluation,
) -> float:
    """``descending``: the matched rules with clamps, highest (priority, file order) first."""
    if not descending:
        if brand is None:
            return value
        low, high = max(0.0, brand[0]), min(1.0, brand[1])
        if low <= high:  # the brand bounds alone (the common case); else the general path notes it
            return _clip(min(max(value, low), high))
    constraints: list[tuple[str, Interval]] = []
    constraints += [
        (r.id, (lo, hi)) for r in descending if r.overrides_brand for a, lo, hi in r.clamps if a == attribute
    ]
    if brand is not None:
        constraints.append(("brand bounds", brand))
    constraints += [
        (r.id, (lo, hi))
        for r in descending
        if not r.overrides_brand
        for a, lo, hi in r.clamps
        if a == attribute
    ]
    low, high = 0.0, 1.0
    applied: list[str] = []
    for source, (lo, hi) in constraints:
        new_low, new_high = max(low, lo), min(high, hi)
        if new_low > new_high:
            # Incompatible with what outranks it: keep only the nearest allowed point.
            ev.notes.append(
                f"tone: {attribute} [{lo:g}, {hi:g}] from {source} conflicts with higher-precedence "
                f"{' + '.join(applied)} [{low:g}, {high:g}]; those win"
            )
            new_low = new_high = high if lo > high else low
        low, high = new_low, new_high
        applied.append(source)
    return _clip(min(max(value, low), high))
