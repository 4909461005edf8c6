"""The aggregations: a fold over events in event-time order, and a read at a given time.

A customer's *state* is plain JSON (so any store can keep it): a watermark — the order key of the
newest event folded in — and one small state per feature. Folding only ever happens in event-time
order; an event older than the watermark makes the caller recompute the state from the event log
(``compute``). Both paths apply the same operations in the same order, so incremental updates,
out-of-order arrival and a full rebuild give the same state bit for bit.

Windowed values (count, rate, open) are evaluated at read time from the event times the state
keeps, so "contacts in the last 24 h" is right at the moment of the decision, not at the moment of
the last event. Windows include both ends: an event exactly ``window`` seconds before the read
counts. Event times are UTC instants, so a window across a DST change is still exactly as long.

The state is bounded whatever the customer's history (issue 12): a windowed feature keeps the exact
times of its newest ``EXACT`` events only; older ones in the window are folded into counts per
bucket of ``window / BUCKETS`` seconds (buckets aligned on the epoch, so every replica buckets
alike). A bucket counts while any part of it is inside the window, so an event that reached the
buckets may be counted up to one bucket width (30 min for a 24 h window) after it left the window
— never too few, which is the safe side for the fatigue cap. A rate buckets its older decisions
with the answers they had by then (a later answer to one of them is not matched). ``open`` counts
conversations by id, so it tracks the ``EXACT`` most recently opened ones and saturates there.
Below ``EXACT`` events (conversations) per window every value is exact.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from tactful.context.definitions import Aggregation, FeatureDefinition
from tactful.context.events import FeatureEvent

State = dict[str, Any]  # {"w": [t, event_id] | None, "f": {feature name: feature state}}

#: Newest events per windowed feature whose exact times the state keeps; older ones are bucketed.
EXACT = 32
#: Buckets per window for the older events: the bucket width is ``window / BUCKETS``.
BUCKETS = 48


class FeatureValue(NamedTuple):
    """One feature as a decision sees it. (A named tuple: a decision builds a dozen per read, and a
    tuple is several times cheaper to create than a frozen dataclass.)"""

    name: str
    value: Any  # the default when missing or stale
    as_of_ts: float | None  # event time (POSIX) of the newest event the value reflects
    computed_at: datetime | None  # when the state holding it was computed
    stale: bool = False  # a value existed but is past its TTL: ``value`` is the default
    missing: bool = False  # no event has fed it yet: ``value`` is the default

    @property
    def as_of(self) -> datetime | None:
        # Converted on demand: a decision reads a dozen values and needs none of these datetimes.
        return None if self.as_of_ts is None else datetime.fromtimestamp(self.as_of_ts, UTC)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "computed_at": None if self.computed_at is None else self.computed_at.isoformat(),
            "stale": self.stale,
            "missing": self.missing,
        }


def new_state() -> State:
    return {"w": None, "f": {}}


def is_in_order(state: State, event: FeatureEvent) -> bool:
    """True when ``event`` comes after every event already folded into ``state``."""
    mark = state["w"]
    return mark is None or (event.t, event.event_id) > (mark[0], mark[1])


Where = tuple[tuple[str, Any], ...]  # (field, wanted value or list of values)
Step = tuple[FeatureDefinition, tuple[tuple[str, tuple[Where, ...]], ...]]  # definition, (role, filters)


class Plan:
    """Definitions compiled for folding: for each event type, the features it may feed and in
    which role ("src", or for rate "den"/"num", for open "open"/"close"). Built once per set."""

    __slots__ = ("by_type", "definitions", "readers")

    def __init__(self, definitions: Iterable[FeatureDefinition]) -> None:
        self.definitions = tuple(definitions)
        # Plain tuples for the read on every decision: no model attribute access in the loop.
        self.readers = tuple(
            (d.name, _READS[d.aggregation], d, d.window is not None, d.ttl, d.default)
            for d in self.definitions
        )
        by_type: dict[str, list[Step]] = {}
        for d in self.definitions:
            roles: dict[str, list[tuple[str, list[Where]]]] = {}
            groups = {
                Aggregation.RATE: (("den", d.sources), ("num", d.numerator)),
                Aggregation.OPEN: (("open", d.sources), ("close", d.closed_by)),
            }.get(d.aggregation, (("src", d.sources),))
            for role, sources in groups:
                for source in sources:
                    where = tuple(
                        (k, tuple(v) if isinstance(v, list) else v) for k, v in source.where.items()
                    )
                    per_type = roles.setdefault(source.event, [])
                    if per_type and per_type[-1][0] == role:
                        per_type[-1][1].append(where)
                    else:
                        per_type.append((role, [where]))
            for event_type, entries in roles.items():
                by_type.setdefault(event_type, []).append(
                    (d, tuple((role, tuple(wheres)) for role, wheres in entries))
                )
        self.by_type = {k: tuple(v) for k, v in by_type.items()}


def _matches(where: Where, payload: dict[str, Any]) -> bool:
    for key, wanted in where:
        got = payload.get(key)
        if isinstance(wanted, tuple):
            if got not in wanted:
                return False
        elif got != wanted:
            return False
    return True


def fold(plan: Plan, state: State, event: FeatureEvent) -> None:
    """Fold one event, newer than the watermark, into ``state`` (in place)."""
    t = event.t
    payload = event.payload
    features = state["f"]
    for d, roles in plan.by_type.get(event.type, ()):
        for role, wheres in roles:
            if any(_matches(w, payload) for w in wheres):
                _FOLDS[d.aggregation](d, features, role, payload, t)
                break  # one role per event and feature: the first that matches
    state["w"] = [t, event.event_id]


def compute(plan: Plan, events: Iterable[FeatureEvent], *, ordered: bool = False) -> State:
    """The state from scratch: events de-duplicated by id and folded in event-time order
    (``ordered=True``: the caller guarantees both already, e.g. a log read in that order)."""
    if not ordered:
        unique = {e.event_id: e for e in events}
        events = sorted(unique.values(), key=lambda e: e.order_key)
    state = new_state()
    for event in events:
        fold(plan, state, event)
    return state


def advance(
    plan: Plan, state: State | None, batch: list[FeatureEvent], log: Callable[[], list[FeatureEvent]]
) -> State:
    """The incremental update: fold ``batch`` (new events, in event-time order) into ``state``, or
    — for a first state or an event older than the watermark — recompute from ``log()`` (the whole
    de-duplicated log in event-time order, ``batch`` included), which is what folding every event
    in order would have given. Either way the result equals ``compute(plan, log())``."""
    if state is not None and batch and is_in_order(state, batch[0]):
        for event in batch:
            fold(plan, state, event)
        return state
    return compute(plan, log(), ordered=True)


# -- folds --------------------------------------------------------------------------------------


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


def _fold_count(
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


def _fold_last(
    d: FeatureDefinition, features: dict[str, Any], _role: str, payload: dict[str, Any], t: float
) -> None:
    assert d.field is not None
    if payload.get(d.field) is not None:
        features[d.name] = [t, payload[d.field]]


def _fold_ewma(
    d: FeatureDefinition, features: dict[str, Any], _role: str, payload: dict[str, Any], t: float
) -> None:
    assert d.field is not None and d.alpha is not None
    x = payload.get(d.field)
    if not isinstance(x, int | float) or isinstance(x, bool):
        return  # e.g. a message stored without signals (personalisation was off)
    previous = features.get(d.name)
    mean = float(x) if previous is None else d.alpha * float(x) + (1 - d.alpha) * previous[1]
    features[d.name] = [t, mean]


def _fold_since(
    d: FeatureDefinition, features: dict[str, Any], _role: str, _payload: dict[str, Any], t: float
) -> None:
    features[d.name] = [t]


def _fold_rate(
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


def _fold_open(
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


_FOLDS = {
    Aggregation.COUNT: _fold_count,
    Aggregation.LAST: _fold_last,
    Aggregation.EWMA: _fold_ewma,
    Aggregation.SINCE: _fold_since,
    Aggregation.RATE: _fold_rate,
    Aggregation.OPEN: _fold_open,
}


# -- reads --------------------------------------------------------------------------------------


def read(plan: Plan, state: State, now: datetime, computed_at: datetime | None) -> dict[str, FeatureValue]:
    """Every definition's value at ``now``; defaults (flagged) where missing or past the TTL."""
    at = now.timestamp()
    features = state["f"]
    out: dict[str, FeatureValue] = {}
    for name, reader, d, windowed, ttl, default in plan.readers:
        raw = features.get(name)
        value, as_of = reader(d, raw, at)
        if raw is None or (as_of is None and not windowed):
            out[name] = FeatureValue(name, default, None, computed_at, missing=True)
        elif as_of is None:  # windowed, nothing left in the window: a real zero / empty value
            out[name] = FeatureValue(name, value, None, computed_at)
        elif ttl is not None and at - as_of > ttl:
            out[name] = FeatureValue(name, default, as_of, computed_at, stale=True)
        else:
            out[name] = FeatureValue(name, value, as_of, computed_at)
    return out


Read = tuple[Any, float | None]  # (value, event time it reflects)


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


def _read_count(d: FeatureDefinition, raw: Any, at: float) -> Read:
    assert d.window is not None
    bucketed, newest = (0, None)
    if isinstance(raw, dict):
        bucketed, newest = _bucketed(d, raw["b"], at)
        raw = raw["t"]
    times: list[float] = raw or []
    hi = bisect.bisect_right(times, at)
    lo = bisect.bisect_left(times, at - d.window)
    return max(hi - lo, 0) + bucketed, times[hi - 1] if hi else newest


def _read_point(_d: FeatureDefinition, raw: Any, at: float) -> Read:
    if raw is None or raw[0] > at:
        return None, None
    return raw[1], raw[0]


def _read_since(_d: FeatureDefinition, raw: Any, at: float) -> Read:
    if raw is None or raw[0] > at:
        return None, None
    return round(at - raw[0], 3), raw[0]


def _read_rate(d: FeatureDefinition, raw: Any, at: float) -> Read:
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


def _read_open(d: FeatureDefinition, raw: Any, at: float) -> Read:
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


_READS = {
    Aggregation.COUNT: _read_count,
    Aggregation.LAST: _read_point,
    Aggregation.EWMA: _read_point,
    Aggregation.SINCE: _read_since,
    Aggregation.RATE: _read_rate,
    Aggregation.OPEN: _read_open,
}
