"""kill -9 an API process mid-stream (issue 13): two stateless API processes on one PostgreSQL
store and a NATS bus; the client sends each message to one of them and, when it gets no answer,
re-sends it with the same event id to the other. Every message ends with exactly one decision and
one audit entry, and the re-sent ones return the decision the first attempt may have made."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import psycopg
import pytest

from tactful.api.process import ServerProcess, server_process
from tactful.domain import new_id
from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.conftest import postgres_schema
from tests.support.servers import NatsServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

MESSAGES = 30


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    with NatsServer.running() as server:
        yield server


def count(db_url: str, sql: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def test_killing_an_api_process_loses_and_doubles_nothing(nats_server: NatsServer) -> None:
    with postgres_schema() as db_url, ExitStack() as stack:
        store = open_store(db_url)
        api_key = create_tenant(store, "apikill").api_key
        store.close()
        env = {
            **os.environ,
            "TACTFUL_DATABASE_URL": db_url,
            "TACTFUL_BUS_URL": f"{nats_server.url}?prefix=apikill",
            "TACTFUL_SIGNAL_TIERS": "fast",
        }
        servers: list[ServerProcess] = [stack.enter_context(server_process(env)) for _ in range(2)]
        auth = {"Authorization": f"Bearer {api_key}"}
        counts: Counter[str] = Counter()
        first_answers: dict[str, str] = {}
        with httpx.Client(timeout=30) as http:
            for n in range(MESSAGES):
                event_id = new_id("evt")
                body = {
                    "event_id": event_id, "customer_id": f"c{n % 5}", "conversation_id": f"k{n % 5}",
                    "channel": "chat", "text": f"message {n}: where is my parcel?",
                }  # fmt: skip
                if n == MESSAGES // 2:
                    servers[0].process.send_signal(signal.SIGKILL)  # kill -9, no shutdown
                    servers[0].process.wait(timeout=30)
                    counts["api_kills"] += 1
                target = servers[n % 2]
                try:
                    r = http.post(f"{target.base_url}/v1/messages", json=body, headers=auth)
                    assert r.status_code == 200, r.text
                    first_answers[event_id] = r.json()["decision_id"]
                    counts["answered"] += 1
                except httpx.TransportError:
                    counts["unanswered"] += 1
                # The client re-sends every message once to the other process, as one that timed
                # out would (the killed one only when it is still alive): same event id, same answer.
                other = servers[(n + 1) % 2]
                if other.process.poll() is None:
                    again = http.post(f"{other.base_url}/v1/messages", json=body, headers=auth)
                    assert again.status_code == 200, again.text
                    if event_id in first_answers:
                        assert again.json()["decision_id"] == first_answers[event_id]
                    counts["resent"] += 1
        decisions = count(db_url, "SELECT count(*) FROM decisions")
        audits = count(db_url, "SELECT count(*) FROM audit_log WHERE kind = 'decision'")
    print(f"\nAPI kill: {dict(counts)}, decisions {decisions}, audit {audits}")
    assert counts["api_kills"] == 1 and counts["unanswered"] >= 1
    assert decisions == MESSAGES and audits == MESSAGES
