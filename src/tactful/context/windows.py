"""The windowed aggregations — count, rate, open — with a state bounded whatever the customer's
history (issue 12).

A windowed feature keeps the exact times of its newest ``EXACT`` events only; older ones in the
window are folded into counts per bucket of ``window / BUCKETS`` seconds (buckets aligned on the
epoch, so every replica buckets alike). A bucket counts while any part of it is inside the window,
so an event that reached the buckets may be counted up to one bucket width (30 min for a 24 h
window) after it left the window — never too few, which is the safe side for the fatigue cap. A
rate buckets its older decisions with the answers they had by then (a later answer to one of them
is not matched). ``open`` counts conversations by id, so it tracks the ``EXACT`` most recently
opened ones and saturates there. Below ``EXACT`` events (conversations) per window every value is
exact. Folds run in event-time order (aggregations.py); reads take any time.
"""

from __future__ import annotations

import bisect
from typing import Any

from tactful.context.definitions import FeatureDefinition

#: Newest events per windowed feature whose exact times the state keeps; older ones are bucketed.
EXACT = 32
#: Buckets per window for the older events: the bucket width is ``window / BUCKETS``.
BUCKETS = 48

Read = tuple[Any, float | None]  # (value, event time it reflects)


def _width(d: FeatureDefinition) -> float:
    assert d.window is not None
    return d.window / BUCKETS


def _add_to_buckets(buckets: list[list[Any]], key: float, *counts: int) -> None:
    """Add ``counts`` to bucket ``key`` (buckets sorted by key; keys only ever grow)."""
    if buckets and buckets[-1][0] == key:
        last = buckets[-1]
        for i, n in enumerate(counts, start=1):
            last[i] += n
    else:
        buckets.append([key, *counts])


def _drop_old_buckets(buckets: list[list[Any]], width: float, cutoff: float) -> None:
    """Forget buckets that end before ``cutoff``: no later read can count them."""
    keep = 0
    while keep < len(buckets) and (buckets[keep][0] + 1) * width < cutoff:
        keep += 1
    if keep:
        del buckets[:keep]


def fold_count(
    d: FeatureDefinition, features: dict[str, Any], _role: str, _payload: dict[str, Any], t: float
) -> None:
    # A plain list of times while exact (the common case, and the compact one); once older events
    # go to buckets, {"t": times, "b": [[bucket, count], ...]}.
    raw = features.setdefault(d.name, [])
    times: list[float] = raw if isinstance(raw, list) else raw["t"]
    times.append(t)  # in order: appending keeps the list sorted
    assert d.window is not None
    cutoff = t - d.window
    if times[0] < cutoff:  # nothing older than the window can be read again at a later time
        del times[: bisect.bisect_left(times, cutoff)]
    if isinstance(raw, dict):
        _drop_old_buckets(raw["b"], _width(d), cutoff)
        if not raw["b"]:
            features[d.name] = times
    if len(times) > EXACT:
        if isinstance(raw, list):
            raw = features[d.name] = {"t": times, "b": []}
        width = _width(d)
        for old in times[: len(times) - EXACT]:
            _add_to_buckets(raw["b"], float(old // width), 1)
        del times[: len(times) - EXACT]


def fold_rate(
    d: FeatureDefinition, features: dict[str, Any], role: str, payload: dict[str, Any], t: float
) -> None:
    assert d.window is not None and d.group_by is not None
    decision_id = payload.get("decision_id")
    if decision_id is None:
        return
    state = features.setdefault(d.name, {"den": [], "num": {}})
    if role == "den":
        if payload.get(d.group_by) is None:
            return
        state["den"].append([t, str(payload[d.group_by]), decision_id])
    else:
        state["num"].setdefault(decision_id, t)  # in order: the first answer is the earliest
    cutoff = t - d.window
    den = state["den"]
    if den[0][0] < cutoff if den else False:
        keep = next((i for i, row in enumerate(den) if row[0] >= cutoff), len(den))
        del den[:keep]
        live = {row[2] for row in den}
        state["num"] = {k: v for k, v in state["num"].items() if k in live or v >= cutoff}
    buckets = state.get("b")
    if buckets:
        _drop_old_buckets(buckets, _width(d), cutoff)
        if not buckets:
            del state["b"]
    if len(den) > EXACT or len(state["num"]) > 2 * EXACT:
        _bucket_rate(d, state)


def _bucket_rate(d: FeatureDefinition, state: dict[str, Any]) -> None:
    """Keep the newest ``EXACT`` decisions by id; older ones become per-bucket, per-group counts of
    decisions and of those answered so far (an answer arriving after that is not matched). Answers
    to decisions the state does not know are kept for the newest ``EXACT`` only."""
    den, num = state["den"], state["num"]
    width = _width(d)
    buckets = state.setdefault("b", [])  # [[bucket, group, decisions, answered], ...]
    for t, group, decision_id in den[: max(0, len(den) - EXACT)]:
        answered = 1 if num.pop(decision_id, None) is not None else 0
        key = float(t // width)
        row = next((b for b in reversed(buckets) if b[0] == key and b[1] == group), None)
        if row is None:
            buckets.append([key, group, 1, answered])
        else:
            row[2] += 1
            row[3] += answered
    del den[: max(0, len(den) - EXACT)]
    live = {row[2] for row in den}
    orphans = [k for k in num if k not in live]
    for k in orphans[: max(0, len(orphans) - EXACT)]:  # insertion order is event-time order
        del num[k]
    if not buckets:
        del state["b"]


def fold_open(
    d: FeatureDefinition, features: dict[str, Any], role: str, payload: dict[str, Any], t: float
) -> None:
    assert d.window is not None
    key = payload.get("conversation_id")
    if key is None:
        return
    conversations: dict[str, list[float | None]] = features.setdefault(d.name, {})
    if role == "open":
        conversations[key] = [t, None]
    elif key in conversations:
        conversations[key][1] = t
    else:
        return
    cutoff = t - d.window
    if len(conversations) > 1:
        for old in [k for k, (opened, _) in conversations.items() if opened is not None and opened < cutoff]:
            del conversations[old]
    if len(conversations) > EXACT:
        # Conversations are counted by id (a re-opened one is one conversation), so older ones
        # cannot be bucketed without counting them twice: beyond the ``EXACT`` most recently
        # opened, they are forgotten, and the value saturates at ``EXACT``.
        by_age = sorted((opened, k) for k, (opened, _) in conversations.items())
        for _, old in by_age[: len(conversations) - EXACT]:
            del conversations[old]


def _bucketed(d: FeatureDefinition, buckets: list[list[Any]], at: float) -> tuple[int, float | None]:
    """Sum of the buckets any part of which lies in the window ending at ``at``, and the start of
    the newest one counted."""
    assert d.window is not None
    width = _width(d)
    start = at - d.window
    total = 0
    newest: float | None = None
    for row in buckets:
        if (row[0] + 1) * width > start and row[0] * width <= at:
            total += row[1]
            newest = row[0] * width
    return total, newest


def read_count(d: FeatureDefinition, raw: Any, at: float) -> Read:
    assert d.window is not None
    bucketed, newest = (0, None)
    if isinstance(raw, dict):
        bucketed, newest = _bucketed(d, raw["b"], at)
        raw = raw["t"]
    times: list[float] = raw or []
    hi = bisect.bisect_right(times, at)
    lo = bisect.bisect_left(times, at - d.window)
    return max(hi - lo, 0) + bucketed, times[hi - 1] if hi else newest


def read_rate(d: FeatureDefinition, raw: Any, at: float) -> Read:
    if raw is None:
        return {}, None
    assert d.window is not None
    totals: dict[str, int] = {}
    answered: dict[str, int] = {}
    newest: float | None = None
    width = _width(d)
    for key, group, n, replied in raw.get("b", ()):
        if (key + 1) * width > at - d.window and key * width <= at:
            totals[group] = totals.get(group, 0) + n
            answered[group] = answered.get(group, 0) + replied
            newest = key * width
    for t, group, decision_id in raw["den"]:
        if at - d.window <= t <= at:
            totals[group] = totals.get(group, 0) + 1
            replied_at = raw["num"].get(decision_id)
            if replied_at is not None and replied_at <= at:
                answered[group] = answered.get(group, 0) + 1
            newest = t
    rates = {g: round(answered.get(g, 0) / n, 4) for g, n in sorted(totals.items())}
    return rates, newest


def read_open(d: FeatureDefinition, raw: Any, at: float) -> Read:
    if raw is None:
        return 0, None
    assert d.window is not None
    count = 0
    newest: float | None = None
    for opened, closed in raw.values():
        if at - d.window <= opened <= at and (closed is None or closed > at):
            count += 1
            newest = opened if newest is None else max(newest, opened)
    return count, newest
