"""Per-conversation order across processes (issue 13): several ``tactful worker --role decide``
processes take interleaved conversations from NATS; each conversation's messages are decided in the
order they were published, while the conversations spread over the processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from tactful.bus import open_bus
from tactful.domain import Envelope, new_id
from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.conftest import postgres_schema
from tests.support.processes import workers
from tests.support.servers import NatsServer

WAIT_S = 90.0


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    with NatsServer.running() as server:
        yield server


def inbound(tenant_id: str, conversation: str, n: int) -> Envelope:
    event_id = new_id("evt")
    now = datetime.now(UTC)
    message = {
        "event_id": event_id,
        "tenant_id": tenant_id,
        "customer_id": f"cust-{conversation}",
        "conversation_id": conversation,
        "channel": "chat",
        "text": f"message {n}: where is my order?",
        "sent_at": now.isoformat(),
    }
    return Envelope(
        event_id=event_id, type="message.received", tenant_id=tenant_id, key=conversation,
        occurred_at=now, payload=message,
    )  # fmt: skip


def wait_for_decisions(db_url: str, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with psycopg.connect(db_url) as conn:
            found = conn.execute("SELECT count(*) FROM decisions").fetchone()
            if found is not None and found[0] >= count:
                return
        time.sleep(0.1)  # polling the store for the workers' progress, bounded by WAIT_S
    raise AssertionError(f"fewer than {count} decisions after {WAIT_S}s")


@pytest.mark.postgres
def test_each_conversation_is_decided_in_order_across_processes(nats_server: NatsServer) -> None:
    with postgres_schema() as db_url:
        store = open_store(db_url)
        tenant_id = create_tenant(store, "order").tenant.tenant_id
        bus_url = f"{nats_server.url}?prefix=order&partitions=8"
        env = {"TACTFUL_DATABASE_URL": db_url, "TACTFUL_BUS_URL": bus_url, "TACTFUL_SIGNAL_TIERS": "fast"}
        conversations = [f"conv-{i}" for i in range(8)]
        per_conversation = 6
        with workers(env, ("decide",), ("decide",), ("decide",)):
            producer = open_bus(bus_url, consume=frozenset())
            sent: dict[str, list[str]] = {c: [] for c in conversations}
            try:
                for n in range(per_conversation):  # interleaved: c0 m0, c1 m0, …, c0 m1, …
                    for conversation in conversations:
                        env_ = inbound(tenant_id, conversation, n)
                        producer.publish(env_)
                        sent[conversation].append(env_.event_id)
            finally:
                producer.close()
            wait_for_decisions(db_url, len(conversations) * per_conversation)
        # The decision.made events are written in each decision's own transaction; their outbox
        # ids give the commit order.
        with psycopg.connect(db_url) as conn:
            # A decision's event refers to its decision (outbox.decision_id): its event id is there.
            rows = conn.execute(
                "SELECT o.event, d.event_id FROM outbox o LEFT JOIN decisions d "
                "ON d.tenant_id = o.tenant_id AND d.decision_id = o.decision_id ORDER BY o.id"
            ).fetchall()
        store.close()

    decided: dict[str, list[str]] = {c: [] for c in conversations}
    for raw, event_id in rows:
        event = json.loads(raw)
        if event["type"] == "decision.made":
            decided[event["key"]].append(event_id)
    assert decided == sent
