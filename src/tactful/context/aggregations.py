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

The state is bounded whatever the customer's history (issue 12): the windowed aggregations (count,
rate, open, in ``windows.py``) keep exact times for their newest events only and counts per
bucket for older ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from tactful.context import windows
from tactful.context.definitions import Aggregation, FeatureDefinition
from tactful.context.events import FeatureEvent

State = dict[str, Any]  # {"w": [t, event_id] | None, "f": {feature name: feature state}}


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


def state_text(state: State) -> str:
    """A state as stored: compact JSON. orjson, because a busy customer's state is a few kB and
    a decision writes one and reads two (~10× the speed of ``json``; issue 12). Every writer
    uses this one function, so a rebuilt state's text equals the incrementally folded one's."""
    return orjson.dumps(state, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def parse_state(text: str) -> State:
    """A stored state's text back as a state (any JSON ``state_text`` or ``json`` wrote)."""
    state: State = orjson.loads(text)
    return state


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


_FOLDS = {
    Aggregation.COUNT: windows.fold_count,
    Aggregation.LAST: _fold_last,
    Aggregation.EWMA: _fold_ewma,
    Aggregation.SINCE: _fold_since,
    Aggregation.RATE: windows.fold_rate,
    Aggregation.OPEN: windows.fold_open,
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


def _read_point(_d: FeatureDefinition, raw: Any, at: float) -> Read:
    if raw is None or raw[0] > at:
        return None, None
    return raw[1], raw[0]


def _read_since(_d: FeatureDefinition, raw: Any, at: float) -> Read:
    if raw is None or raw[0] > at:
        return None, None
    return round(at - raw[0], 3), raw[0]


_READS = {
    Aggregation.COUNT: windows.read_count,
    Aggregation.LAST: _read_point,
    Aggregation.EWMA: _read_point,
    Aggregation.SINCE: _read_since,
    Aggregation.RATE: windows.read_rate,
    Aggregation.OPEN: windows.read_open,
}
