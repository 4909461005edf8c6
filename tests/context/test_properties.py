"""Hypothesis: arrival order and duplicates never change the features.

Any permutation and duplication of an event sequence, applied through the incremental path
(``advance``: fold when in order, recompute from the log otherwise), yields exactly the state —
and so the values — of the ordered, de-duplicated sequence.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tactful.context.aggregations import State, advance, compute, read
from tactful.context.events import FeatureEvent
from tests.context.builders import T0, all_levels, decision, message, outcome

CHANNELS = ("chat", "sms", "email")


@st.composite
def event_logs(draw: st.DrawFn) -> list[FeatureEvent]:
    n = draw(st.integers(min_value=0, max_value=25))
    events: list[FeatureEvent] = []
    for i in range(n):
        # Minutes over ~10 days, with collisions so equal event times are exercised too.
        when = T0 + timedelta(minutes=draw(st.integers(min_value=0, max_value=14_400)) // 7 * 7)
        kind = draw(st.sampled_from(("message", "decision", "outcome")))
        channel = draw(st.sampled_from(CHANNELS))
        conv = draw(st.sampled_from(("a", "b", "c")))
        if kind == "message":
            valence = draw(st.floats(min_value=-1, max_value=1, allow_nan=False))
            events.append(message(f"m{i}", when, valence=valence, channel=channel, conv=conv))
        elif kind == "decision":
            proactive = draw(st.booleans())
            action = draw(st.sampled_from(("reply", "escalate", "offer_callback")))
            events.append(
                decision(f"d{i}", when, proactive=proactive, channel=channel, action=action, conv=conv)
            )
        else:
            target = draw(st.integers(min_value=0, max_value=max(n - 1, 0)))
            kind_ = draw(st.sampled_from(("replied", "csat", "resolved", "escalated", "read")))
            value = float(draw(st.integers(min_value=1, max_value=5))) if kind_ == "csat" else None
            events.append(
                outcome(f"o{i}", when, f"d{target}", kind_, value=value, channel=channel, conv=conv)
            )
    return events


def by_time(event: FeatureEvent) -> tuple[float, str]:
    return event.order_key


def incremental(arrivals: list[list[FeatureEvent]], level: int) -> State | None:
    """What the store does: per arriving batch, drop known ids, then ``advance``."""
    plan = all_levels()[level]
    seen: dict[str, FeatureEvent] = {}
    state: State | None = None
    for batch in arrivals:
        fresh = sorted(
            {e.event_id: e for e in batch if e.event_id not in seen}.values(), key=lambda e: e.order_key
        )
        if not fresh:
            continue
        seen.update((e.event_id, e) for e in fresh)

        state = advance(plan, state, fresh, lambda: sorted(seen.values(), key=by_time))
    return state


@settings(max_examples=200, deadline=None)
@given(
    log=event_logs(),
    data=st.data(),
)
def test_any_permutation_and_duplication_gives_the_ordered_result(
    log: list[FeatureEvent], data: st.DataObject
) -> None:
    duplicated = log + data.draw(st.lists(st.sampled_from(log), max_size=10) if log else st.just([]))
    shuffled = data.draw(st.permutations(duplicated))
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(shuffled)), max_size=6)))
    arrivals = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    read_at = T0 + timedelta(days=data.draw(st.integers(min_value=0, max_value=12)))
    for level, plan in enumerate(all_levels()):
        expected = compute(
            plan, sorted({e.event_id: e for e in log}.values(), key=lambda e: e.order_key), ordered=True
        )
        got = incremental(arrivals, level)
        if not log:
            assert got is None
            continue
        assert got == expected  # the state itself, bit for bit
        assert read(plan, got, read_at, None) == read(plan, expected, read_at, None)
