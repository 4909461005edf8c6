"""Recovery after each injected fault on the bus path (issue 13 "Measured"): two ``decide`` workers
and one ``relay,features`` worker on a private NATS server and PostgreSQL cluster
(``tests/support/servers.py``), a steady stream of inbound messages with unique event ids, and in
turn: kill -9 of a decide worker, kill -9 of the NATS server (restarted after ``DOWN_S``), kill -9
of Redis, the workers' hot feature store (restarted empty after ``DOWN_S``), and a restart of
PostgreSQL. The client re-sends a publish NATS did not acknowledge with the same event id.

Per fault:

- **first decision**: seconds from the repair (the kill itself when nothing is restarted) to the
  first decision event of a message published after it;
- **drained**: seconds from the repair until every message published before it is decided;
- at the end, over the whole run: **lost** (acknowledged, never decided) and **duplicated**
  (decisions beyond one per event id) — both must be 0 — and the un-acknowledged publishes re-sent.

    PYTHONPATH=src:. python bench/scaleout_faults.py
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the servers live in tests/support

from tests.scaleout.test_order import inbound
from tests.support.processes import workers
from tests.support.servers import NatsServer, PostgresCluster, RedisServer

from tactful.breaker import CircuitOpen
from tactful.bus import open_bus
from tactful.bus.nats import BusUnavailable
from tactful.domain import Envelope
from tactful.store import open_store
from tactful.tenants import create_tenant

CONVERSATIONS = 8
#: One inbound message every PERIOD_S: a steady stream well below the workers' capacity, so a
#: recovery time is the fault's, not a queue's.
PERIOD_S = 0.05
DOWN_S = 2.0
STEADY_S = 5.0  # stream before each fault
WARM_S = 2.0  # the first seconds of the stream (workers' first decisions) are not "steady"
SETTLE_S = 180.0


@dataclass
class Stream:
    """The client: publishes one message per period, re-sending an unacknowledged one (same id)."""

    producer: Any
    tenant_id: str
    acked: dict[str, float] = field(default_factory=dict)  # event id → acknowledged at (monotonic)
    sent: dict[str, float] = field(default_factory=dict)  # event id → first publish attempt
    unacked_attempts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self._stop.is_set():
            envelope = inbound(self.tenant_id, f"conv-{n % CONVERSATIONS}", n // CONVERSATIONS)
            self.sent[envelope.event_id] = time.monotonic()
            while not self._stop.is_set():
                try:
                    self.producer.publish(envelope)
                    self.acked[envelope.event_id] = time.monotonic()
                    break
                except (BusUnavailable, CircuitOpen):
                    self.unacked_attempts += 1
                    self._stop.wait(PERIOD_S)  # a client's retry pause
            n += 1
            self._stop.wait(PERIOD_S)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Decided:
    at: dict[str, float] = field(default_factory=dict)  # inbound event id → decision event seen at
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, envelope: Envelope) -> None:
        with self.cond:
            self.at.setdefault(str(envelope.payload["event_id"]), time.monotonic())
            self.cond.notify_all()

    def wait(self, check: Callable[[], bool]) -> None:
        with self.cond:
            if not self.cond.wait_for(check, SETTLE_S):
                raise TimeoutError("the stream did not recover")


def recovery(stream: Stream, decided: Decided, repaired: float) -> tuple[float, float]:
    before = [k for k, at in list(stream.acked.items()) if at <= repaired]

    def after() -> list[float]:
        return [t for k, t in list(decided.at.items()) if stream.acked.get(k, 0.0) > repaired]

    decided.wait(lambda: bool(after()))
    first = min(after())
    decided.wait(lambda: all(k in decided.at for k in before))
    drained = max([decided.at[k] for k in before] + [repaired])
    return first - repaired, drained - repaired


def measure() -> dict[str, Any]:
    with NatsServer.running() as nats, PostgresCluster.running() as pg, RedisServer.running() as redis:
        store = open_store(pg.url)
        tenant_id = create_tenant(store, "faultbench").tenant.tenant_id
        store.close()
        bus_url = f"{nats.url}?partitions=8&ack_wait_s=3&max_attempts=30&backoff_max_s=1&timeout_s=2"
        env = {
            "TACTFUL_DATABASE_URL": pg.url,
            "TACTFUL_BUS_URL": bus_url,
            "TACTFUL_SIGNAL_TIERS": "fast",
            "TACTFUL_HOT_STORE_URL": redis.url,
        }
        rows: list[dict[str, Any]] = []
        with workers(env, ("decide",), ("decide",), ("relay", "features")) as procs:
            observer = open_bus(bus_url)
            producer = open_bus(bus_url, consume=frozenset())
            decided = Decided()
            observer.subscribe("decision.made", decided, group="faultbench")
            stream = Stream(producer, tenant_id)
            thread = threading.Thread(target=stream.run, daemon=True)
            thread.start()
            try:
                faults: list[tuple[str, Callable[[], None]]] = [
                    ("decide worker kill -9", procs[0].kill),
                    ("NATS kill -9, restarted after 2 s", lambda: _down(nats)),
                    ("Redis (hot store) kill -9, restarted empty after 2 s", lambda: _down(redis)),
                    ("PostgreSQL restart", pg.restart),
                ]
                steady_until = 0.0
                for name, inject in faults:
                    time.sleep(STEADY_S)  # the steady stream before the fault (a duration)
                    steady_until = steady_until or time.monotonic()
                    inject()
                    first, drained = recovery(stream, decided, time.monotonic())
                    rows.append({"fault": name, "first_decision_s": first, "drained_s": drained})
            finally:
                stream.stop()
                thread.join()
            decided.wait(lambda: all(k in decided.at for k in stream.acked))
            dead = producer.dead_letter_count()  # type: ignore[attr-defined]
            producer.close()
            observer.close()
        with psycopg.connect(pg.url) as conn:
            total, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM decisions"
            ).fetchone()
            ids = {r[0] for r in conn.execute("SELECT event_id FROM decisions").fetchall()}
    steady = sorted(
        (decided.at[k] - t) * 1000
        for k, t in stream.sent.items()
        if t < steady_until - 1.0 and k in decided.at
    )  # messages sent at least a second before the first fault: the undisturbed latency
    return {
        "faults": rows,
        "steady_p50_ms": steady[len(steady) // 2],
        "steady_p99_ms": steady[int(0.99 * (len(steady) - 1))],
        "steady_n": len(steady),
        "acknowledged": len(stream.acked),
        "unacked_attempts": stream.unacked_attempts,
        "lost": len(set(stream.acked) - ids),
        "duplicated": int(total) - int(distinct),
        "dead_letters": dead,
    }


def _down(server: NatsServer | RedisServer) -> None:
    server.kill()
    time.sleep(DOWN_S)  # the outage itself (a fault's duration, not a synchronisation)
    server.start()


def table(result: dict[str, Any]) -> str:
    lines = [
        "| fault | first decision after the repair | backlog drained after the repair |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r['fault']} | {r['first_decision_s']:.2f} s | {r['drained_s']:.2f} s |" for r in result["faults"]
    ]
    lines += [
        "",
        f"Publish → decision event before the first fault, one message every {PERIOD_S * 1000:.0f} ms "
        f"({result['steady_n']} messages): p50 {result['steady_p50_ms']:.0f} ms, "
        f"p99 {result['steady_p99_ms']:.0f} ms.",
        f"Acknowledged messages {result['acknowledged']}; lost {result['lost']} (must be 0); duplicated "
        f"{result['duplicated']} (must be 0); un-acknowledged publishes re-sent with the same id "
        f"{result['unacked_attempts']}; dead letters {result['dead_letters']}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(measure()))
