"""The feature-events stream (issue 13): a decision's feature events reach ``FEATURES`` through the
transactional outbox, once each even when the outbox row goes out twice; the embedded default
(in-process bus) writes no extra outbox row."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import select

from tactful.bus import InProcessBus, open_bus
from tactful.context.events import outcome_event
from tactful.domain import Envelope
from tactful.domain.outcome import Outcome, OutcomeType
from tactful.engine import Engine, EngineParts
from tactful.store import open_store
from tactful.store.schema import events, outbox
from tactful.tenants import create_tenant
from tests.conftest import FixedClock, MessageFactory
from tests.support.servers import NatsServer

N = 6


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    with NatsServer.running() as server:
        yield server


def stream_events(url: str, stream: str) -> list[dict[str, Any]]:
    """Every message the stream holds, decoded."""

    async def read() -> list[dict[str, Any]]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            found = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                raw = await js.get_msg(stream, seq)
                found.append(json.loads(raw.data or b"{}"))
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def sql_feature_event_ids(store: Any) -> list[str]:
    with store._db.read() as conn:
        return sorted(str(r[0]) for r in conn.execute(select(events.c.event_id)))


def outbox_types(store: Any) -> list[str]:
    with store._db.read() as conn:
        return [json.loads(r[0])["type"] for r in conn.execute(select(outbox.c.event).order_by(outbox.c.id))]


def test_features_stream_holds_exactly_the_sql_feature_events(
    nats_server: NatsServer, tmp_path: Path, clock: FixedClock, message: MessageFactory
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'f.db'}", clock=clock)
    tenant_id = create_tenant(store, "feat").tenant.tenant_id
    bus = open_bus(f"{nats_server.url}?prefix=feat", consume=frozenset())
    engine = Engine(EngineParts(store, bus=bus, clock=clock))
    try:
        made = [
            engine.decide(message(f"question {i}", customer=f"c{i % 2}", tenant_id=tenant_id))
            for i in range(N)
        ]
        # An outcome the ``features`` group folds is published too (its own batch), once.
        outcome = Outcome(
            event_id="out-1", tenant_id=tenant_id, decision_id=made[0].decision_id,
            type=OutcomeType.REPLIED, occurred_at=clock.now,
        )  # fmt: skip
        assert engine.features.ingest([outcome_event(outcome, made[0])]) == 1
        assert engine.features.ingest([outcome_event(outcome, made[0])]) == 0  # a replay: no row
        engine.relay_events()
        published = stream_events(nats_server.url, "FEAT_FEATURES")
        assert len(published) == N + 1  # one batch event per decision, one for the outcome
        assert all(e["type"] == "feature.recorded" for e in published)
        streamed = sorted(f["event_id"] for e in published for f in e["payload"]["events"])
        assert streamed == sql_feature_event_ids(store)
        assert len(streamed) == len(set(streamed)) > 0
        # The relay re-publishing a row (a crash between publish and mark) stores nothing new.
        bus.publish(Envelope.model_validate(published[0]))
        assert len(stream_events(nats_server.url, "FEAT_FEATURES")) == N + 1
    finally:
        engine.close()


def test_the_embedded_default_writes_no_feature_outbox_rows(
    tmp_path: Path, clock: FixedClock, message: MessageFactory
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'e.db'}", clock=clock)
    tenant_id = create_tenant(store, "emb").tenant.tenant_id
    engine = Engine(EngineParts(store, bus=InProcessBus(), clock=clock))
    try:
        for i in range(N):
            engine.decide(message(f"question {i}", tenant_id=tenant_id))
        assert sql_feature_event_ids(store)  # the features were written ...
        assert outbox_types(store) == ["decision.made"] * N  # ... with no outbox row of their own
    finally:
        engine.close()


def test_the_in_process_bus_carries_feature_recorded(tmp_path: Path) -> None:
    bus = InProcessBus()
    seen: list[Envelope] = []
    bus.subscribe("feature.recorded", seen.append, group="test")
    env = Envelope.model_validate(
        {"event_id": "features.x", "type": "feature.recorded", "tenant_id": "t", "key": "c",
         "occurred_at": "2026-06-17T15:00:00+00:00", "payload": {"events": []}}
    )  # fmt: skip
    bus.publish(env)
    assert [e.event_id for e in seen] == ["features.x"]
