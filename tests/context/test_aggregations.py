"""Golden cases for every aggregation and window edge, computed by the pure fold (no store)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tactful.context.aggregations import Plan, compute, parse_state, read, state_text
from tactful.context.definitions import parse_definitions, parse_duration
from tactful.context.events import FeatureEvent
from tactful.errors import InputRejected
from tests.context.builders import T0, at, decision, definition, message, outcome, plan


def values(p: Plan, events: list[FeatureEvent], now: datetime) -> dict[str, Any]:
    return {name: v.value for name, v in read(p, compute(p, events), now, None).items()}


# -- count and its window edges ------------------------------------------------------------------


def test_count_includes_an_event_exactly_at_the_window_boundary() -> None:
    p = plan("proactive_contacts_24h")
    now = at(hours=24)
    on_edge = decision("d1", T0, proactive=True)  # exactly 24 h before now
    assert values(p, [on_edge], now)["proactive_contacts_24h"] == 1
    just_out = decision("d2", T0 - timedelta(microseconds=1), proactive=True)
    assert values(p, [just_out], now)["proactive_contacts_24h"] == 0


def test_count_ignores_events_older_than_the_window_and_after_the_read() -> None:
    p = plan("proactive_contacts_24h", "proactive_contacts_7d")
    events = [
        decision("old", at(days=-8), proactive=True),  # older than both windows
        decision("week", at(days=-3), proactive=True),  # only in the 7 d window
        decision("day", at(hours=-2), proactive=True),
        decision("reply", at(hours=-1), proactive=False),  # not proactive: filtered by `where`
        decision("future", at(hours=1), proactive=True),  # after the read time
    ]
    assert values(p, events, T0) == {"proactive_contacts_24h": 1, "proactive_contacts_7d": 2}


def test_count_state_forgets_events_that_can_never_be_read_again() -> None:
    p = plan("proactive_contacts_24h")
    state = compute(p, [decision("a", at(days=-3), proactive=True), decision("b", T0, proactive=True)])
    assert state["f"]["proactive_contacts_24h"] == [T0.timestamp()]


def test_windows_are_absolute_across_a_dst_change() -> None:
    """London moves to BST on 2026-03-29. An event at 11:30 local (GMT) on the 28th is 23.5 h
    before 12:00 local (BST) on the 29th, though the wall clocks are 24.5 h apart: it counts."""
    london = ZoneInfo("Europe/London")
    event_time = datetime(2026, 3, 28, 11, 30, tzinfo=london)
    read_time = datetime(2026, 3, 29, 12, 0, tzinfo=london)
    assert read_time - event_time == timedelta(hours=24, minutes=30)  # naive wall-clock arithmetic
    assert read_time.timestamp() - event_time.timestamp() == 23.5 * 3600  # real elapsed time
    p = plan("inbound_contacts_24h")
    assert values(p, [message("m1", event_time)], read_time)["inbound_contacts_24h"] == 1
    # And in autumn (BST → GMT on 2026-10-25) the wall clock is 1 h short instead: 24.5 h real.
    autumn_event = datetime(2026, 10, 24, 12, 30, tzinfo=london)
    autumn_read = datetime(2026, 10, 25, 12, 0, tzinfo=london)
    assert values(p, [message("m2", autumn_event)], autumn_read)["inbound_contacts_24h"] == 0


def test_count_with_several_sources_and_list_filters() -> None:
    p = plan("escalations_30d")
    events = [
        decision("d1", at(days=-1), action="escalate"),
        decision("d2", at(days=-2), action="handoff_human"),
        decision("d3", at(days=-3), action="reply"),
        outcome("o1", at(days=-4), "d3", "escalated"),
        outcome("o2", at(days=-31), "d3", "escalated"),  # outside 30 d
    ]
    assert values(p, events, T0)["escalations_30d"] == 3


# -- last, ewma, since and TTL ---------------------------------------------------------------------


def test_last_takes_the_latest_by_event_time_not_by_arrival() -> None:
    p = plan("last_channel_used")
    events = [message("late", at(hours=-1), channel="sms"), message("early", at(hours=-5), channel="email")]
    assert values(p, events, T0)["last_channel_used"] == "sms"


def test_ttl_boundary_exactly_at_the_ttl_is_fresh_and_after_it_stale() -> None:
    p = plan("last_csat")  # ttl 90 d, default None
    events = [outcome("o1", T0, "d1", "csat", value=4.0)]
    fresh = read(p, compute(p, events), at(days=90), None)["last_csat"]
    assert (fresh.value, fresh.stale) == (4.0, False)
    stale = read(p, compute(p, events), at(days=90, seconds=1), None)["last_csat"]
    assert (stale.value, stale.stale, stale.as_of) == (None, True, T0)


def test_ewma_golden_values_in_event_time_order() -> None:
    p = plan("sentiment_ewma")  # alpha 0.3
    events = [
        message("m3", at(minutes=3), valence=0.5),
        message("m1", at(minutes=1), valence=1.0),
        message("m2", at(minutes=2), valence=-1.0),
    ]
    # 1.0 → 0.3·(−1) + 0.7·1 = 0.4 → 0.3·0.5 + 0.7·0.4 = 0.43
    assert values(p, events, at(minutes=5))["sentiment_ewma"] == pytest.approx(0.43, abs=1e-12)


def test_ewma_skips_messages_stored_without_signals() -> None:
    p = plan("sentiment_ewma")
    bare = message("m2", at(minutes=2))
    bare.payload.pop("valence")
    assert (
        values(p, [message("m1", at(minutes=1), valence=-0.5), bare], at(minutes=3))["sentiment_ewma"] == -0.5
    )


def test_since_counts_seconds_from_the_latest_contact() -> None:
    p = plan("seconds_since_last_contact")
    assert values(p, [message("m1", at(hours=-2)), message("m0", at(hours=-3))], T0) == {
        "seconds_since_last_contact": 7200.0
    }


def test_missing_features_take_their_defaults_and_say_so() -> None:
    p = plan()
    got = read(p, compute(p, []), T0, None)
    assert all(v.missing and not v.stale for v in got.values())
    assert got["proactive_contacts_24h"].value == 0 and got["last_csat"].value is None
    assert got["response_rate_by_channel"].value == {}


# -- rate and open -------------------------------------------------------------------------------


def test_response_rate_per_channel_counts_each_decision_once() -> None:
    p = plan("response_rate_by_channel")  # 30 d window over the decisions
    events = [
        decision("d1", at(days=-2), channel="sms"),
        decision("d2", at(days=-1), channel="sms"),
        decision("d3", at(days=-1), channel="chat"),
        decision("d0", at(days=-40), channel="chat"),  # outside the window
        outcome("o1", at(days=-1), "d1", "replied", channel="sms"),
        outcome("o1b", at(days=-1, hours=1), "d1", "replied", channel="sms"),  # a second reply: once
        outcome("o0", at(days=-39), "d0", "replied", channel="chat"),
        outcome("o3", at(hours=1), "d3", "replied", channel="chat"),  # after the read time
    ]
    assert values(p, events, T0)["response_rate_by_channel"] == {"chat": 0.0, "sms": 0.5}


def test_open_conversations_close_on_resolution_and_reopen_on_a_new_message() -> None:
    p = plan("open_conversations")  # 7 d window
    events = [
        message("a1", at(days=-1), conv="a"),
        message("b1", at(days=-2), conv="b"),
        outcome("rb", at(days=-1, hours=12), "db", "resolved", conv="b"),
        message("c1", at(days=-9), conv="c"),  # idle longer than the window: not open
    ]
    assert values(p, events, T0)["open_conversations"] == 1
    reopened = [*events, message("b2", at(hours=-1), conv="b")]
    assert values(p, reopened, T0)["open_conversations"] == 2


def test_last_channel_answered_reads_the_replied_outcomes_channel() -> None:
    p = plan("last_channel_answered")
    events = [
        outcome("o1", at(hours=-3), "d1", "replied", channel="email"),
        outcome("o2", at(hours=-1), "d2", "read"),
    ]
    assert values(p, events, T0)["last_channel_answered"] == "email"


# -- definitions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"), [("90s", 90.0), ("30m", 1800.0), ("24h", 86400.0), ("7d", 604800.0), (60, 60.0)]
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["", "1w", "-1h", "0h", True, None])
def test_bad_durations_are_rejected(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(raw)


def test_a_definition_must_have_what_its_aggregation_needs() -> None:
    with pytest.raises(ValueError, match="needs window"):
        definition(name="x", level="personal", aggregation="count", sources=[{"event": "message.received"}])
    with pytest.raises(ValueError, match="not a ttl"):
        definition(
            name="x",
            level="personal",
            aggregation="count",
            sources=[{"event": "message.received"}],
            window="1d",
            ttl="1d",
        )


SINCE_MESSAGES = "aggregation: since, sources: [{event: message.received}]"


@pytest.mark.parametrize(
    ("source", "message_part"),
    [
        ("features: [", "not valid YAML"),
        ("features: []", "features"),
        (f"features:\n  - {{name: a, level: personal, {SINCE_MESSAGES}}}\n", "proactive_contacts_24h"),
        (f"features:\n  - {{name: a, level: nope, {SINCE_MESSAGES}}}\n", "level"),
    ],
)
def test_bad_definition_sets_are_rejected_with_a_reason(source: str, message_part: str) -> None:
    with pytest.raises(InputRejected, match=message_part) as caught:
        parse_definitions(source, version=1)
    assert caught.value.code == "invalid_features"


def test_the_default_set_is_versioned_by_content() -> None:
    from tactful.context.definitions import default_definitions

    defs = default_definitions()
    assert defs.version == 0 and defs.label.startswith("default+") and len(defs.content_hash) == 64
    assert {"proactive_contacts_24h", "sentiment_ewma", "last_csat"} <= set(defs.names)


# -- the stored text of a state ------------------------------------------------------------------


def test_a_state_text_reads_back_as_the_state_and_older_texts_still_read() -> None:
    p = plan("proactive_contacts_24h")
    state = compute(p, [decision(f"d{i}", at(minutes=i), proactive=True) for i in range(40)])
    text = state_text(state)
    assert parse_state(text) == state
    assert json.loads(text) == state  # plain compact JSON, as any reader of the column expects
    # States written before orjson (``json.dumps``, compact) read back as the same state.
    assert parse_state(json.dumps(state, separators=(",", ":"))) == state
