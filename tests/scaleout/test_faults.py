"""Nothing lost, nothing doubled, no conversation reordered when parts die (issue 13).

Real servers on their own ports: a NATS server and a PostgreSQL cluster in a temporary directory,
and a Redis server as the workers' hot feature store, with ``tactful worker`` processes deciding the
inbound stream. Under a steady stream of messages with unique event ids, the test kills -9 a worker,
kills -9 the NATS server (and restarts it), kills -9 Redis (and restarts it, empty), and restarts
PostgreSQL. A publish NATS did not acknowledge is re-sent by the "client" with the same
event id before the conversation's next message (as a client would), so JetStream's de-duplication
and the engine's idempotency make it exactly one decision. Then: one decision, one audit entry and
its two feature events (the message's and the decision's) per message, each conversation decided
in publish order, ``tactful audit verify`` passes, and no event went to the dead letters. The
counts are printed (``-s``) for docs/scale-out.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest

from tactful.breaker import CircuitOpen
from tactful.bus import open_bus
from tactful.bus.nats import BusUnavailable, NatsBus
from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.scaleout.test_order import inbound
from tests.support.processes import workers
from tests.support.servers import NatsServer, PostgresCluster, RedisServer

pytestmark = pytest.mark.server

CONVERSATIONS = 6
PER_CONVERSATION = 10
RESEND_WITHIN_S = 60.0
SETTLE_WITHIN_S = 120.0


@pytest.fixture
def parts() -> Iterator[tuple[NatsServer, PostgresCluster, RedisServer]]:
    with NatsServer.running() as nats, PostgresCluster.running() as pg, RedisServer.running() as redis:
        yield nats, pg, redis


def publish_until_acked(bus: NatsBus, envelope: object, counts: Counter[str]) -> None:
    """The client's side: re-send the same event until the bus acknowledges it."""
    deadline = time.monotonic() + RESEND_WITHIN_S
    while True:
        try:
            bus.publish(envelope)  # type: ignore[arg-type]
            counts["acked"] += 1
            return
        except (BusUnavailable, CircuitOpen):
            counts["unacked_attempts"] += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # a client's retry pause; the bound above ends the test if NATS never returns


def count(db_url: str, sql: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def test_kills_and_restarts_lose_and_double_nothing(
    parts: tuple[NatsServer, PostgresCluster, RedisServer],
) -> None:
    nats, pg, redis = parts
    db_url = pg.url
    store = open_store(db_url)
    tenant_id = create_tenant(store, "faults").tenant.tenant_id
    store.close()
    # Short ack wait: a killed worker's message goes to another worker in seconds; many patient
    # retries: a decision failing while PostgreSQL restarts is retried, not dead-lettered.
    bus_url = f"{nats.url}?partitions=8&ack_wait_s=3&max_attempts=30&backoff_max_s=1&timeout_s=2"
    env = {
        "TACTFUL_DATABASE_URL": db_url,
        "TACTFUL_BUS_URL": bus_url,
        "TACTFUL_SIGNAL_TIERS": "fast",
        "TACTFUL_HOT_STORE_URL": redis.url,
    }
    counts: Counter[str] = Counter()
    sent: dict[str, list[str]] = {f"conv-{c}": [] for c in range(CONVERSATIONS)}
    total = CONVERSATIONS * PER_CONVERSATION
    with workers(env, ("decide",), ("decide",), ("relay", "features")) as procs:
        producer = open_bus(bus_url, consume=frozenset())
        assert isinstance(producer, NatsBus)
        try:
            n = 0
            for i in range(PER_CONVERSATION):
                for conversation in sent:
                    if n == total // 4:
                        procs[0].kill()  # kill -9 a worker mid-stream
                        counts["killed_workers"] += 1
                    if n == total // 2:
                        nats.kill()  # kill -9 NATS: the next publishes are not acknowledged
                        counts["nats_kills"] += 1
                    envelope = inbound(tenant_id, conversation, i)
                    if nats.alive:
                        publish_until_acked(producer, envelope, counts)
                    else:
                        try:
                            producer.publish(envelope)
                        except (BusUnavailable, CircuitOpen):
                            counts["unacked_attempts"] += 1
                        nats.start()  # back on the same port with its file store
                        publish_until_acked(producer, envelope, counts)  # re-sent, same event id
                    if n == (5 * total) // 8:
                        redis.kill()  # kill -9 the hot store: decisions read SQL, marked degraded
                        counts["redis_kills"] += 1
                    if n == (5 * total) // 8 + CONVERSATIONS:
                        redis.start()  # back, empty: stale copies are detected by seq
                    if n == (3 * total) // 4:
                        pg.restart()  # PostgreSQL restarts under the workers
                        counts["postgres_restarts"] += 1
                    sent[conversation].append(envelope.event_id)
                    n += 1
            deadline = time.monotonic() + SETTLE_WITHIN_S
            while count(db_url, "SELECT count(*) FROM decisions") < total:
                assert time.monotonic() < deadline, "decisions missing after the faults"
                time.sleep(0.2)  # waiting for the workers to catch up, bounded above
            assert producer.dead_letter_count() == 0
        finally:
            producer.close()
    decisions = count(db_url, "SELECT count(*) FROM decisions")
    distinct = count(db_url, "SELECT count(DISTINCT event_id) FROM decisions")
    audits = count(db_url, "SELECT count(*) FROM audit_log WHERE kind = 'decision'")
    received = count(db_url, "SELECT count(*) FROM events WHERE type = 'message.received'")
    made = count(
        db_url,
        "SELECT count(*) FROM events e JOIN decisions d "
        "ON e.tenant_id = d.tenant_id AND e.event_id = d.decision_id || '.made'",
    )
    degraded = count(db_url, "SELECT count(*) FROM decision_facts WHERE degraded")
    with psycopg.connect(db_url) as conn:
        # A decision's event refers to its decision (outbox.decision_id): its event id is there.
        rows = conn.execute(
            "SELECT o.event, d.event_id FROM outbox o LEFT JOIN decisions d "
            "ON d.tenant_id = o.tenant_id AND d.decision_id = o.decision_id ORDER BY o.id"
        ).fetchall()
    decided: dict[str, list[str]] = {c: [] for c in sent}
    for raw, event_id in rows:
        event = json.loads(raw)
        if event["type"] == "decision.made":
            decided[event["key"]].append(event_id)
    verify = subprocess.run(
        [sys.executable, "-c", "from tactful.cli import app; app()", "audit", "verify", "--db", db_url],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    print(
        f"\nfault suite: {dict(counts)}, messages {total}, decisions {decisions}, audit {audits}, "
        f"feature events {received} + {made}, degraded decisions {degraded}"
    )
    assert decisions == distinct == total  # none lost, none doubled
    assert audits == total
    assert received == made == total  # each message's feature updates: its two events, once
    assert decided == sent  # every conversation in publish order
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert counts["unacked_attempts"] >= 1 and counts["acked"] == total
