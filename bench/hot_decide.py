"""What the Redis hot store adds to a whole decision: the same messages decided by two engines
on two SQLite files, one with the hot store (claim + HMGET + write-through + release: four Redis
round trips) and one without, interleaved so both see the same machine load.

    .venv/bin/python bench/hot_decide.py [--decisions 600] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import redis
from timing import Clock, pct  # bench/ is on sys.path when run as a script

from tactful.domain import Channel, ConversationId, CustomerId, EventId, InboundMessage, TenantId
from tactful.engine import Engine, EngineParts
from tactful.hot import HotPath
from tactful.store import open_store
from tactful.tenants import create_tenant

TEXTS = (
    "My parcel is late and I am really annoyed about it",
    "Can I change my delivery address?",
    "Thanks, that solved it!",
    "Where is my refund? It has been two weeks.",
)


def measure(n: int, url: str) -> dict[str, float]:
    prefix = f"tactful-bench-{uuid.uuid4().hex[:8]}:"
    clock = Clock()
    timings: dict[str, list[float]] = {"hot": [], "sql": []}
    with tempfile.TemporaryDirectory() as tmp:
        engines: dict[str, Engine] = {}
        tenants: dict[str, str] = {}
        for label in ("hot", "sql"):
            store = open_store(f"sqlite:///{Path(tmp) / f'{label}.db'}", clock=clock)
            hot = HotPath.open(url, store.features, prefix=prefix) if label == "hot" else None
            engines[label] = Engine(EngineParts(store, clock=clock, hot=hot))
            tenants[label] = create_tenant(store, "bench").tenant.tenant_id
        try:
            for i in range(-100, n):  # the first 100: warm-up (imports, caches, prepared statements)
                clock.now += timedelta(seconds=20)
                for label in ("hot", "sql") if i % 2 else ("sql", "hot"):
                    message = InboundMessage(
                        event_id=EventId(f"e{i}"),
                        tenant_id=TenantId(tenants[label]),
                        customer_id=CustomerId(f"c{i % 50}"),
                        conversation_id=ConversationId(f"k{i % 50}"),
                        channel=Channel.CHAT,
                        text=TEXTS[i % len(TEXTS)],
                        sent_at=clock.now,
                    )
                    t = time.perf_counter()
                    decision = engines[label].decide(message)
                    if i >= 0:
                        timings[label].append((time.perf_counter() - t) * 1000)
                    assert (
                        not decision.degradations
                        or label == "sql"
                        or not any("hot store" in r for r in decision.degradations)
                    )
            hits = engines["hot"].hot.features.hits if engines["hot"].hot else 0
        finally:
            for engine in engines.values():
                engine.close()
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
    return {
        "hot_p50": statistics.median(timings["hot"]),
        "hot_p99": pct(timings["hot"], 0.99),
        "sql_p50": statistics.median(timings["sql"]),
        "sql_p99": pct(timings["sql"], 0.99),
        "hits": float(hits),
        "n": float(n),
        "load": os.getloadavg()[0],
    }


def section(n: int = 600, url: str = "redis://127.0.0.1:6379/0") -> str:
    m = measure(n, url)
    return "\n".join(
        [
            "### A whole decision with and without the hot store",
            "",
            f"`.venv/bin/python bench/hot_decide.py --decisions {n} --redis {url}` — two engines on two "
            "SQLite files (durable commits), the same messages, interleaved; 50 customers.",
            "",
            "| measure | with Redis | SQL only | ratio |",
            "|---|---|---|---|",
            *(
                f"| `decide` {q} | {m[f'hot_{q}']:.2f} ms | {m[f'sql_{q}']:.2f} ms "
                f"| {m[f'hot_{q}'] / m[f'sql_{q}']:.2f}× |"
                for q in ("p50", "p99")
            ),
            "",
            f"Redis served {m['hits']:.0f} feature reads (of {m['n']:.0f} + warm-up). Load average "
            f"{m['load']:.1f} on {os.cpu_count()} CPUs.",
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=600)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(section(args.decisions, args.redis))
