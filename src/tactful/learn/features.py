"""Context features for the bandit: what the policy input holds, bucketed.

Continuous values are bucketed because VW's linear model did not learn thresholds from raw numbers
(measured before this module existed); the learner adds pairwise interactions with the arm (``-q``).
Features are a flat ``name → token`` mapping: small, JSON-storable with each logged decision, and
rebuilt into VW's text format at learning time or for off-policy evaluation.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from tactful.learn.arms import Arm
from tactful.learn.drift import context_key
from tactful.learn.fatigue import COUNT_FEATURE
from tactful.policy.local_time import resolve_clock
from tactful.policy.types import PolicyInput

Features = dict[str, str]

_UNSAFE = re.compile(r"[\s:|]+")


def _token(value: object) -> str:
    return _clean(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=4096)  # intents, languages, feature names and values repeat across decisions
def _clean(text: str) -> str:
    return _UNSAFE.sub("_", text)[:64] or "_"


@functools.lru_cache(maxsize=1024)
def _feature_name(key: str) -> str:
    return f"f_{_clean(key)}"


def _bucket(value: float, edges: tuple[float, ...]) -> str:
    # The first edge the value is below (``bisect_right``: edges ≤ value; NaN is below none).
    return _LABELS[bisect.bisect_right(edges, value)]


_LABELS = tuple(f"b{i}" for i in range(8))
_VALENCE = (-0.5, -0.1, 0.1, 0.5)
_ANGER = _FRUSTRATION = (0.3, 0.6)
_URGENCY = (0.3, 0.7)
_TENURE = (30.0, 365.0)


@functools.lru_cache(maxsize=4096)  # counts and other numbers repeat across decisions
def _number_bucket(value: float) -> str:
    """Any number: sign and order of magnitude (0, 1, 2–3, 4–7, ...)."""
    if not math.isfinite(value):
        return "nan"
    magnitude = 0 if value == 0 else 1 + int(math.log2(abs(value) + 1))
    return f"{'-' if value < 0 else ''}m{magnitude}"


def context_features(inp: PolicyInput) -> Features:
    s = inp.signals
    local = resolve_clock(inp).local
    out: Features = {
        "in": inp.message.channel.value,
        "intent": _token(s.intent),
        "sent": s.sentiment.value,
        "val": _bucket(s.valence, _VALENCE),
        "ang": _bucket(s.anger, _ANGER),
        "urg": _bucket(s.urgency, _URGENCY),
        "fru": _bucket(s.frustration, _FRUSTRATION),
        "hr": f"h{local.hour // 3}",
        "we": "1" if local.isoweekday() >= 6 else "0",
        "lang": _token(s.language),
    }
    prefs = inp.preferences
    if prefs.preferred_channel is not None:
        out["pref"] = prefs.preferred_channel.value
    if inp.profile is not None:
        out["tier"] = inp.profile.tier.value
        out["ten"] = _bucket(float(inp.profile.tenure_days), _TENURE)
    given = inp.features
    for key in sorted(given)[:32]:
        value = given[key]
        kind = type(value)
        # The common exact types inline; anything else (subclasses, collections) as before.
        if kind is str:
            out[_feature_name(key)] = _clean(value)
        elif kind is int or kind is float:
            out[_feature_name(key)] = _number_bucket(float(value))
        else:
            _add_feature(out, key, value)
    count = given.get("proactive_contacts_24h")
    if isinstance(count, int | float) and not isinstance(count, bool) and math.isfinite(count):
        out[COUNT_FEATURE] = str(int(count))  # exact, for the fatigue cost (not a model feature)
    return out


def _add_feature(out: Features, key: str, value: Any) -> None:
    name = _feature_name(key)
    if isinstance(value, bool):
        out[name] = "1" if value else "0"
    elif isinstance(value, int | float):
        out[name] = _number_bucket(float(value))
    elif isinstance(value, str):
        out[name] = _clean(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in sorted(map(str, value))[:8]:
            out[f"{name}_{_clean(item)}"] = "1"


def shared_line(features: Mapping[str, str], key: str | None = None) -> str:
    """VW text for the shared (context) part.

    S holds the features and U crosses each with the intent, so ``-q SA -q UA`` can learn arm values
    that differ by customer and by situation. H crosses each with the local-hour bucket and is not
    interacted with the arm: it is a per-context baseline shared by all arms, which lets the
    interaction weights learn only the differences between arms (in the simulator this took the
    bandit from ~83 % to ~90 % of the oracle; interacting H with the arm as well learnt more slowly).
    K names the whole context (``context_key``: who the customer is and what they want) and the
    context at this hour, for ``-q KA``: when a channel answers depends on who and when together
    (a segment's availability by local hour), which S × A (one feature at a time) cannot express.
    Coarser terms (S, U) learn first and K refines them where the data says so.
    ``key``: the features' ``context_key`` if the caller already built it (it is the costliest part).
    """
    # Names starting with "_" are bookkeeping logged with the decision, not model features.
    names = [k for k in features if k[:1] != "_"]
    pairs = [f"{k}={features[k]}" for k in names]  # each pair formatted once for S, U and H
    intent = features.get("intent", "none")
    hour = features.get("hr", "none")
    # U and H: every pair but the namespace's own key, prefixed; one join each (same text as one
    # f-string per pair, a third of the cost: this line is built on every prediction).
    by_intent = _prefixed(f"{intent}^", _without(names, pairs, "intent"))
    by_hour = _prefixed(f"{hour}^", _without(names, pairs, "hr"))
    who = f"{zlib.crc32((context_key(features) if key is None else key).encode()):x}"
    return f"shared |S {' '.join(pairs)} |U {by_intent} i={intent} |H {by_hour} |K k={who} kh={who}_{hour}"


def _without(names: list[str], pairs: list[str], name: str) -> list[str]:
    """``pairs`` without the one of feature ``name`` (names are a dict's keys: at most one)."""
    try:
        at = names.index(name)
    except ValueError:
        return pairs
    return pairs[:at] + pairs[at + 1 :]


def _prefixed(prefix: str, pairs: list[str]) -> str:
    """``" ".join(prefix + p for p in pairs)`` as one join."""
    return prefix + f" {prefix}".join(pairs) if pairs else ""


def arm_line(arm: Arm) -> str:
    """VW text for one arm (the A namespace; built once per arm, ``Arm.line``)."""
    return arm.line


def arms_text(arms: Sequence[Arm]) -> str:
    """The arms' lines of one multi-line example, in order."""
    return "\n".join([arm.line for arm in arms])
