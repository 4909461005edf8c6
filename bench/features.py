"""Feature store: the read one decision makes, and rebuild throughput, on SQLite; the same through
the Redis hot store when one answers (``--redis``, default the local server, under a private
prefix deleted afterwards); and the state of one very busy customer, bounded vs unbounded.

    .venv/bin/python bench/features.py [--customers 1000] [--events-per-customer 25] [--reads 5000]
        [--redis redis://127.0.0.1:6379/0 | --redis none]

The baseline for the read is the context read the engine made before the feature store (the whole
customer row plus a count of proactive decisions), measured in the same process; the hot-store
read is compared with the decision's SQL read of the same run, the refilling rebuild with the
SQL-only rebuild, and the bounded state with the same fold keeping every event time in the window.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis
from timing import pct  # bench/ is on sys.path when run as a script

from tactful.context import FeatureEvent, aggregations, load_context, windows
from tactful.context.definitions import default_definitions
from tactful.domain import Customer, CustomerId, CustomerProfile, EventId, TenantId
from tactful.hot import HotPath
from tactful.store import SqlStore, open_store

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"

START = datetime(2026, 5, 1, tzinfo=UTC)
CHANNELS = ("chat", "email", "sms", "voice", "social")


def synthetic_events(
    tenant: str, customers: int, per_customer: int, rng: random.Random
) -> list[FeatureEvent]:
    """Messages, decisions (some proactive) and outcomes spread over 60 days, in random order."""
    out: list[FeatureEvent] = []
    for c in range(customers):
        customer = f"c{c:05d}"
        for i in range(per_customer):
            at = START + timedelta(seconds=rng.randrange(60 * 86400))
            kind = i % 3
            conv = f"{customer}-conv{i // 6}"
            if kind == 0:
                payload = {
                    "channel": rng.choice(CHANNELS),
                    "conversation_id": conv,
                    "valence": rng.uniform(-1, 1),
                }
                out.append(
                    FeatureEvent(tenant, f"{customer}-m{i}", customer, "message.received", at, payload)
                )
            elif kind == 1:
                payload = {
                    "decision_id": f"{customer}-d{i}",
                    "conversation_id": conv,
                    "channel": rng.choice(CHANNELS),
                    "proactive": rng.random() < 0.2,
                    "action": rng.choice(("reply", "escalate", "offer_callback")),
                }
                out.append(
                    FeatureEvent(tenant, f"{customer}-d{i}.made", customer, "decision.made", at, payload)
                )
            else:
                payload = {
                    "decision_id": f"{customer}-d{i - 1}",
                    "conversation_id": conv,
                    "channel": rng.choice(CHANNELS),
                    "type": rng.choice(("replied", "csat", "resolved", "escalated")),
                    "value": 4.0,
                }
                out.append(
                    FeatureEvent(tenant, f"{customer}-o{i}", customer, "outcome.recorded", at, payload)
                )
    rng.shuffle(out)
    return out


@contextmanager
def database(postgres: bool) -> Iterator[str]:
    """A SQLite file in a temporary folder, or a scratch schema on the PostgreSQL server here."""
    if not postgres:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    schema = f"tactful_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure(
    customers: int, per_customer: int, reads: int, redis_url: str | None, postgres: bool = False
) -> dict[str, float]:
    rng = random.Random(7)
    out: dict[str, float] = {}
    with database(postgres) as url:
        store: SqlStore = open_store(url)
        try:
            tenant = store.create_tenant("bench").tenant_id
            for c in range(customers):
                store.put_customer(
                    Customer(tenant_id=tenant, customer_id=CustomerId(f"c{c:05d}"), profile=CustomerProfile())
                )
            events = synthetic_events(tenant, customers, per_customer, rng)
            # Traffic arrives roughly in event-time order: batches of 500 consecutive events.
            events.sort(key=lambda e: e.order_key)
            t0 = time.perf_counter()
            for start in range(0, len(events), 500):
                store.features.ingest(events[start : start + 500], personal=True)
            ingest_s = time.perf_counter() - t0

            t0, c0 = time.perf_counter(), time.process_time()
            report = store.features.rebuild(tenant)
            rebuild_s, rebuild_cpu = time.perf_counter() - t0, time.process_time() - c0

            now = START + timedelta(days=61)
            ids = [CustomerId(f"c{rng.randrange(customers):05d}") for _ in range(reads)]
            tid = TenantId(tenant)
            base: list[float] = []
            for cid in ids:  # the context read before the feature store, as the baseline
                t = time.perf_counter()
                store.get_customer(tid, cid)
                store.count_proactive_since(tid, cid, now - timedelta(hours=24))
                base.append((time.perf_counter() - t) * 1000)
            full: list[float] = []
            cpu: list[float] = []
            for cid in ids:
                t, tc = time.perf_counter(), time.thread_time()
                load_context(store.features, tid, cid, now)
                cpu.append((time.thread_time() - tc) * 1000)
                full.append((time.perf_counter() - t) * 1000)
            out |= {
                "events": float(len(events)),
                "ingest_eps": len(events) / ingest_s,
                "rebuild_eps": report.events / rebuild_s,
                "rebuild_cpu_eps": report.events / rebuild_cpu,
                "read_cpu_p99": pct(cpu, 0.99),
                "read_p50": statistics.median(full),
                "read_p99": pct(full, 0.99),
                "base_p50": statistics.median(base),
                "base_p99": pct(base, 0.99),
            }
            if redis_url is not None:
                out |= measure_hot(store, tid, ids, now, redis_url)
        finally:
            store.close()
    out |= measure_bounded()
    out["load"] = os.getloadavg()[0]
    return out


def measure_hot(
    store: SqlStore, tenant: TenantId, ids: list[CustomerId], now: datetime, url: str
) -> dict[str, float]:
    """The decision path's context read with the state in Redis (one SQL read without the state's
    JSON + one HMGET) against the same read from SQL alone, alternating in one loop; and the
    rebuild that refills Redis against the SQL-only rebuild measured just before."""
    prefix = f"tactful-bench-{uuid.uuid4().hex[:8]}:"
    hot = HotPath.open(url, store.features, prefix=prefix)
    try:
        # SQL-only, refilling, SQL-only again: the baseline is the mean of the two around it.
        t0 = time.perf_counter()
        store.features.rebuild(tenant)
        t1 = time.perf_counter()
        report = hot.features.rebuild(tenant)
        t2 = time.perf_counter()
        store.features.rebuild(tenant)
        t3 = time.perf_counter()
        refill_s, sql_s = t2 - t1, ((t1 - t0) + (t3 - t2)) / 2
        hot.features.rebuild(tenant)  # the last SQL-only rebuild wrote every row: refill again
        sql_ms: list[float] = []
        hot_ms: list[float] = []
        hot_cpu: list[float] = []
        for i, cid in enumerate(ids):
            event = EventId(f"bench-{i}")
            t = time.perf_counter()
            reads = store.read_for_decision(tenant, event, cid)
            load_context(
                store.features, tenant, cid, now, store.features.from_row(tenant, reads.context_row, now)
            )
            sql_ms.append((time.perf_counter() - t) * 1000)
            t, tc = time.perf_counter(), time.thread_time()
            reads = store.read_for_decision(tenant, event, cid, state=False)
            degraded: list[str] = []
            read, _ = hot.features.read(tenant, cid, now, reads.context_row, degraded)
            load_context(store.features, tenant, cid, now, read)
            hot_cpu.append((time.thread_time() - tc) * 1000)
            hot_ms.append((time.perf_counter() - t) * 1000)
            assert not degraded, degraded
        served = hot.features.hits / max(1, hot.features.hits + hot.features.misses)
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        hot.close()
    return {
        "refill_eps": report.events / refill_s,
        "refill_base_eps": report.events / sql_s,
        "hot_p50": statistics.median(hot_ms),
        "hot_p99": pct(hot_ms, 0.99),
        "hot_cpu_p99": pct(hot_cpu, 0.99),
        "sql_path_p50": statistics.median(sql_ms),
        "sql_path_p99": pct(sql_ms, 0.99),
        "hot_served": served,
    }


def measure_bounded(n: int = 10_000) -> dict[str, float]:
    """One customer with ``n`` events in 30 days: state size and the fold + read time per event,
    bounded (the shipped fold) vs unbounded (the same fold keeping every event time)."""
    rng = random.Random(11)
    events = sorted(synthetic_events("t", 1, n, rng), key=lambda e: e.order_key)
    shrink = 30 / 60  # synthetic_events spreads over 60 days: squeeze into 30, inside every window
    events = [
        FeatureEvent(
            e.tenant_id,
            e.event_id,
            e.customer_id,
            e.type,
            START + (e.occurred_at - START) * shrink,
            e.payload,
        )
        for e in events
    ]
    plan = aggregations.Plan(default_definitions().features)
    now = events[-1].occurred_at
    found: dict[str, float] = {}
    saved = windows.EXACT
    for label, exact in (("bounded", saved), ("unbounded", 10**9)):
        windows.EXACT = exact
        try:
            t0 = time.process_time()
            state = aggregations.compute(plan, events, ordered=True)
            fold_s = time.process_time() - t0
            text = json.dumps(state, separators=(",", ":"))
            t0 = time.process_time()
            for _ in range(200):  # what one decision pays for this customer: parse and read
                aggregations.read(plan, json.loads(text), now, None)
            read_ms = (time.process_time() - t0) / 200 * 1000
        finally:
            windows.EXACT = saved
        found |= {
            f"{label}_bytes": float(len(text)),
            f"{label}_read_ms": read_ms,
            f"{label}_fold_us": fold_s / n * 1e6,
        }
    return found


def section() -> str:
    """``make bench``: on SQLite, and on PostgreSQL when its server here answers; a whole decision
    with and without the hot store when Redis answers (bench/hot_decide.py)."""
    parts = ["## Feature store (issues 6, 12, 13)", "", table()]
    try:
        with psycopg.connect(PG_SERVER, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        parts.append(f"(PostgreSQL not measured: {exc})")
    else:
        parts.append(table(postgres=True))
    if _answers(DEFAULT_REDIS):
        import hot_decide  # bench/ is on sys.path when run as a script

        parts.append(hot_decide.section(url=DEFAULT_REDIS))
    return "\n".join(parts)


def table(
    customers: int = 1000,
    per_customer: int = 25,
    reads: int = 5000,
    redis_url: str | None = "",
    postgres: bool = False,
) -> str:
    """``redis_url`` "" (the default): the local Redis if it answers; None: no hot-store rows."""
    if redis_url == "":
        redis_url = DEFAULT_REDIS if _answers(DEFAULT_REDIS) else None
    m = measure(customers, per_customer, reads, redis_url, postgres)
    where = (
        "PostgreSQL on this machine (scratch schema)" if postgres else "SQLite file (WAL, synchronous=FULL)"
    )
    lines = [
        f"### On {'PostgreSQL' if postgres else 'SQLite'}",
        "",
        f"`.venv/bin/python bench/features.py --customers {customers} "
        f"--events-per-customer {per_customer} --reads {reads}{' --postgres' * postgres}` — {where}, "
        f"{int(m['events']):,} synthetic events "
        f"over 60 days, {customers:,} customers; Redis: {redis_url or 'none'}.",
        "",
        "| measure | value | aim |",
        "|---|---|---|",
        f"| context read for one decision (preferences + consent facts + all features), p50 | "
        f"{m['read_p50']:.3f} ms | |",
        f"| context read for one decision, p99 | {m['read_p99']:.3f} ms "
        f"({m['read_p99'] / m['base_p99']:.2f}× the old whole-row read + proactive count, "
        f"{m['base_p99']:.3f} ms) | ≤ 0.5 ms |",
        f"| context read for one decision, p99 of CPU time (unaffected by other processes) | "
        f"{m['read_cpu_p99']:.3f} ms | |",
        f"| rebuild from the event log, wall clock | {m['rebuild_eps']:,.0f} events/s | ≥ 20,000 |",
        f"| rebuild from the event log, per CPU second | {m['rebuild_cpu_eps']:,.0f} events/s | |",
        f"| incremental ingest, 500-event batches in time order | {m['ingest_eps']:,.0f} events/s | |",
    ]
    if "hot_p99" in m:
        lines += [
            f"| decision-path context read with the state in Redis (SQL read without state + HMGET), p50 | "
            f"{m['hot_p50']:.3f} ms ({m['hot_p50'] / m['sql_path_p50']:.2f}× the SQL-only read, "
            f"{m['sql_path_p50']:.3f} ms) | |",
            f"| same, p99 | {m['hot_p99']:.3f} ms "
            f"({m['hot_p99'] / m['sql_path_p99']:.2f}× the SQL-only read, "
            f"{m['sql_path_p99']:.3f} ms) | ≤ 0.5 ms |",
            f"| same, p99 of CPU time | {m['hot_cpu_p99']:.3f} ms | |",
            f"| reads Redis served (fresh copy) | {m['hot_served']:.1%} | |",
            f"| rebuild that refills Redis, wall clock | {m['refill_eps']:,.0f} events/s "
            f"({m['refill_eps'] / m['refill_base_eps']:.2f}× the SQL-only rebuilds around it) | ≥ 20,000 |",
        ]
    lines += [
        f"| one customer with 10,000 events in 30 days: state JSON | {m['bounded_bytes']:,.0f} bytes "
        f"({m['bounded_bytes'] / m['unbounded_bytes']:.3f}× keeping every event, "
        f"{m['unbounded_bytes']:,.0f} bytes) | bounded |",
        f"| same customer: parse + read of the state per decision (CPU) | {m['bounded_read_ms']:.3f} ms "
        f"({m['bounded_read_ms'] / m['unbounded_read_ms']:.3f}× keeping every event, "
        f"{m['unbounded_read_ms']:.3f} ms) | ≤ 0.5 ms |",
        f"| same customer: fold per event (CPU) | {m['bounded_fold_us']:.1f} µs "
        f"({m['bounded_fold_us'] / m['unbounded_fold_us']:.2f}× keeping every event) | |",
        "",
        f"Load average during the run: {m['load']:.1f} on {os.cpu_count()} CPUs (shared machine): "
        "wall-clock figures include time other processes held the CPU; the CPU-time rows do not.",
        "",
    ]
    return "\n".join(lines)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--events-per-customer", type=int, default=25)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--redis", default="", help="Redis URL for the hot-store rows; 'none' to skip")
    parser.add_argument("--postgres", action="store_true", help="on the PostgreSQL server here")
    args = parser.parse_args()
    url = None if args.redis == "none" else args.redis
    print(table(args.customers, args.events_per_customer, args.reads, url, args.postgres))
