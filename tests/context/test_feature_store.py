"""The SQL feature store on SQLite and PostgreSQL: idempotent, event-time ordered ingest; the
minimised decision read; point-in-time reads; rebuild; definition versions and backfill."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tactful.context import FeatureEvent, load_context
from tactful.domain import (
    Customer,
    CustomerId,
    CustomerProfile,
    PersonalisationIntensity,
    Preferences,
    TenantId,
)
from tactful.errors import Conflict, InputRejected
from tactful.store import SqlStore
from tactful.store.schema import feature_state
from tests.context.builders import T0, at, decision, message, outcome
from tests.context.conftest import MovableClock


def tenant(store: SqlStore, name: str = "acme") -> str:
    return store.create_tenant(name).tenant_id


def retag(events: list[FeatureEvent], tenant_id: str) -> list[FeatureEvent]:
    return [replace(e, tenant_id=tenant_id) for e in events]


def history(tid: str) -> list[FeatureEvent]:
    return retag(
        [
            message("m1", at(hours=-5), valence=-0.8, channel="sms"),
            decision("d1", at(hours=-5, minutes=1), proactive=True, channel="sms"),
            outcome("o1", at(hours=-4), "d1", "replied", channel="sms"),
            message("m2", at(hours=-2), valence=0.4, channel="chat"),
            decision("d2", at(hours=-2, minutes=1), channel="chat", action="escalate"),
            outcome("o2", at(hours=-1), "d2", "csat", value=2.0),
        ],
        tid,
    )


def state_rows(store: SqlStore) -> list[tuple[Any, ...]]:
    with store._db.read() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(feature_state).order_by(
                    feature_state.c.tenant_id, feature_state.c.customer_id, feature_state.c.version
                )
            ).all()
        ]


def plain(store: SqlStore, tid: str, customer: str = "c1", now: datetime = T0) -> dict[str, Any]:
    return load_context(store.features, TenantId(tid), CustomerId(customer), now).features


def test_ingest_is_idempotent_and_order_independent(sql_store: SqlStore) -> None:
    a, b = tenant(sql_store, "a"), tenant(sql_store, "b")
    events_a, events_b = history(a), history(b)
    assert sql_store.features.ingest(events_a) == 6
    assert sql_store.features.ingest(events_a) == 0  # a replay changes nothing
    # The same events for another tenant, arriving one by one in reverse order.
    for event in reversed(events_b):
        sql_store.features.ingest([event])
    sql_store.features.ingest(events_b[:3])
    assert plain(sql_store, a) == plain(sql_store, b)
    got = plain(sql_store, a)
    assert got["proactive_contacts_24h"] == 1 and got["inbound_contacts_24h"] == 2
    assert got["sentiment_ewma"] == pytest.approx(0.3 * 0.4 + 0.7 * -0.8)
    assert (
        got["last_csat"] == 2.0
        and got["last_channel_used"] == "chat"
        and got["last_channel_answered"] == "sms"
    )
    assert got["response_rate_by_channel"] == {"chat": 0.0, "sms": 1.0}
    assert got["escalations_30d"] == 1 and got["seconds_since_last_contact"] == 7200.0
    assert got["open_conversations"] == 1


def test_features_are_tenant_scoped(sql_store: SqlStore) -> None:
    a, b = tenant(sql_store, "a"), tenant(sql_store, "b")
    sql_store.features.ingest(history(a))
    assert plain(sql_store, b)["proactive_contacts_24h"] == 0
    _, vector = sql_store.features.read_for_decision(b, "c1", T0)
    assert all(v.missing for v in vector.values.values())


def test_personalisation_off_reads_neither_profile_nor_personal_features(sql_store: SqlStore) -> None:
    tid = tenant(sql_store)
    sql_store.put_customer(
        Customer(
            tenant_id=TenantId(tid),
            customer_id=CustomerId("c1"),
            profile=CustomerProfile(
                tier="vip", time_zone="Europe/Paris", accessibility_needs=("hearing_impaired",)
            ),
            preferences=Preferences(personalisation=PersonalisationIntensity.OFF),
        )
    )
    sql_store.features.ingest(history(tid))  # looks the customer's intensity up: off
    facts, vector = sql_store.features.read_for_decision(tid, "c1", T0)
    assert facts is not None and facts.profile_json is None  # the database did not return it
    assert (facts.time_zone, facts.accessibility_needs) == ("Europe/Paris", ("hearing_impaired",))
    assert set(vector.values) == {"proactive_contacts_24h", "proactive_contacts_7d"} and not vector.personal
    assert vector.values["proactive_contacts_24h"].value == 1
    with sql_store._db.read() as conn:
        assert conn.execute(select(feature_state.c.personal_state)).scalar() is None  # never computed
    ctx = load_context(sql_store.features, TenantId(tid), CustomerId("c1"), T0)
    assert ctx.profile is None and ctx.features["time_zone"] == "Europe/Paris"
    # Turning personalisation on: the next event computes the personal features from the log.
    sql_store.put_customer(
        Customer(tenant_id=TenantId(tid), customer_id=CustomerId("c1"), preferences=Preferences())
    )
    sql_store.features.ingest(retag([message("m9", at(minutes=-1))], tid))
    assert plain(sql_store, tid)["inbound_contacts_24h"] == 3


def test_as_of_sees_only_what_had_happened_and_arrived(sql_store: SqlStore, clock: MovableClock) -> None:
    tid = tenant(sql_store)
    events = history(tid)
    clock.now = at(hours=-3)
    sql_store.features.ingest(events[:3])  # recorded at T0 - 3 h
    clock.now = T0
    sql_store.features.ingest(events[3:])  # recorded at T0
    early = sql_store.features.as_of(tid, "c1", at(hours=-3))
    assert early.values["inbound_contacts_24h"].value == 1 and early.values["last_csat"].missing
    # A late event: it happened 4.5 h ago but only arrives now, so "as known at -3 h" excludes it.
    late = retag([message("late", at(hours=-4, minutes=-30))], tid)[0]
    sql_store.features.ingest([late])
    assert sql_store.features.as_of(tid, "c1", at(hours=-3)).values["inbound_contacts_24h"].value == 1
    assert (
        sql_store.features.as_of(tid, "c1", T0).plain()
        == sql_store.features.read_for_decision(tid, "c1", T0)[1].plain()
    )
    with pytest.raises(InputRejected):
        sql_store.features.as_of(tid, "c1", T0.replace(tzinfo=None))


def test_rebuild_gives_the_incremental_state_and_is_repeatable(
    sql_store: SqlStore, clock: MovableClock
) -> None:
    a, b = tenant(sql_store, "a"), tenant(sql_store, "b")
    for tid in (a, b):
        for event in reversed(history(tid)):  # out of order: the incremental path recomputes
            sql_store.features.ingest([event])
    before = state_rows(sql_store)
    report = sql_store.features.rebuild()
    assert (report.tenants, report.customers, report.events) == (2, 2, 12)
    after = state_rows(sql_store)
    # Values compared one by one (computed_at differs only when the clock moved).
    assert [(r[0], r[1], r[2], json.loads(r[3]), r[4] and json.loads(r[4])) for r in after] == [
        (r[0], r[1], r[2], json.loads(r[3]), r[4] and json.loads(r[4])) for r in before
    ]
    clock.now = at(days=2)
    only_recent = sql_store.features.rebuild(a, since=at(days=1))
    assert only_recent.customers == 0  # nothing happened or arrived since then


def test_definition_versions_backfill_before_activation(sql_store: SqlStore) -> None:
    from tactful.context.definitions import DEFAULT_SET

    tid = tenant(sql_store)
    sql_store.features.ingest(history(tid))
    source = DEFAULT_SET.read_text().replace(
        "window: 24h\n    default: 0\n  - name: proactive_contacts_7d",
        "window: 2h\n    default: 0\n  - name: proactive_contacts_7d",
        1,
    )
    assert "window: 2h" in source
    v1 = sql_store.features.publish_definitions(tid, source, by="test")
    assert (v1.version, v1.status) == (1, "published")
    assert sql_store.features.publish_definitions(tid, source, by="test").version == 1  # same content
    with pytest.raises(Conflict, match="backfill"):
        sql_store.features.activate_definitions(tid, 1)
    assert plain(sql_store, tid)["proactive_contacts_24h"] == 1  # still the default set
    sql_store.features.backfill(tid, 1)
    # Live while ready: a new event updates v1 too, so nothing is lost before activation.
    sql_store.features.ingest(retag([decision("d9", at(minutes=-30), proactive=True)], tid))
    active = sql_store.features.activate_definitions(tid, 1)
    assert active.status == "active"
    _, vector = sql_store.features.read_for_decision(tid, "c1", T0)
    assert vector.definitions.startswith("v1+")
    assert vector.values["proactive_contacts_24h"].value == 1  # the 2 h window of v1
    assert [r.status for r in sql_store.features.list_definitions(tid)] == ["active"]
    with pytest.raises(InputRejected):
        sql_store.features.publish_definitions(tid, "features: [", by="test")


def test_a_stale_value_is_replaced_by_its_default_and_reported(sql_store: SqlStore) -> None:
    tid = tenant(sql_store)
    sql_store.features.ingest(history(tid))
    ctx = load_context(sql_store.features, TenantId(tid), CustomerId("c1"), T0 + timedelta(days=15))
    assert ctx.features["sentiment_ewma"] == 0.0  # the default, not the last computed −0.44
    assert ctx.vector is not None and "sentiment_ewma" in ctx.vector.stale
    assert any("sentiment_ewma is stale" in note for note in ctx.notes)
    assert ctx.degradations == ("context: feature sentiment_ewma stale; default used",)


def test_erasing_a_customer_removes_their_events_and_state(sql_store: SqlStore) -> None:
    tid = tenant(sql_store)
    sql_store.features.ingest(history(tid))
    sql_store.features.ingest(
        [replace(e, customer_id="c2", event_id=f"{e.event_id}-2") for e in history(tid)]
    )
    assert sql_store.features.erase_customer(tid, "c1") == 6
    assert all(v.missing for v in sql_store.features.read_for_decision(tid, "c1", T0)[1].values.values())
    assert sql_store.features.read_for_decision(tid, "c2", T0)[1].values["last_csat"].value == 2.0
    assert sql_store.features.rebuild(tid).customers == 1


def test_rebuild_while_events_keep_arriving_loses_nothing(sql_store: SqlStore) -> None:
    """Whatever the interleaving of incremental updates and rebuild batches, the final state is
    the fold of the whole log."""
    import threading

    tid = tenant(sql_store)
    stream = [
        replace(e, customer_id=f"c{i % 7}", event_id=f"{e.event_id}-{i}")
        for i in range(40)
        for e in reversed(history(tid))
    ]
    sql_store.features.ingest(stream[:60])
    failures: list[BaseException] = []

    def traffic() -> None:
        try:
            for event in stream[60:]:
                sql_store.features.ingest([event])
        except BaseException as exc:  # surfaced below: a thread's exception would vanish otherwise
            failures.append(exc)

    worker = threading.Thread(target=traffic)
    worker.start()
    for _ in range(3):
        sql_store.features.rebuild(tid)
    worker.join()
    assert not failures
    live = state_rows(sql_store)
    sql_store.features.rebuild(tid)
    rebuilt = state_rows(sql_store)
    assert [(r[1], json.loads(r[3]), json.loads(r[4])) for r in live] == [
        (r[1], json.loads(r[3]), json.loads(r[4])) for r in rebuilt
    ]
    assert len(rebuilt) == 7
