"""Process CPU per decision against the number of threads deciding at once, with the engine built
as the service builds it (background relay, delivery worker, metrics and decision-log observers):
what group commit's batching does to a decision's CPU, without HTTP.

    PYTHONPATH=src python bench/decide_threads.py [--threads 1 2 4 8] [--decisions 600]

A POST under wrk -c8 should be compared with the 8-thread figure plus the HTTP layer
(``bench/http_overhead.py``), not with ``bench/run.py``'s one-thread decision: one thread commits
every decision alone, eight share each durable commit.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from tactful.channels.service import ChannelService
from tactful.config import Settings
from tactful.domain import ConversationId, CustomerId, EventId, InboundMessage, TenantId
from tactful.engine import Engine
from tactful.observability import DecisionLog, Metrics
from tactful.store import open_store
from tactful.tenants import create_tenant

TEXT = "I was charged twice for my order, please refund the second payment"  # wrk_messages.lua's


def run(threads: int, decisions: int, db: Path) -> dict[str, float]:
    url = f"sqlite:///{db}"
    store = open_store(url)
    tenant = TenantId(create_tenant(store, "bench").tenant.tenant_id)
    store.close()
    settings = Settings(database_url=url)
    engine = Engine.from_settings(settings, background_relay=True, consume=None)
    metrics = Metrics(tenant_label=settings.metrics_tenant_label)
    engine.observers.extend([metrics.observe, DecisionLog()])
    channels = ChannelService(engine)
    channels.start()
    lock = threading.Lock()
    taken = 0

    def message(i: int, tag: str) -> InboundMessage:
        return InboundMessage(
            event_id=EventId(f"{tag}-{i}"), tenant_id=tenant, customer_id=CustomerId(f"c{i % 64}"),
            conversation_id=ConversationId(f"k{i % 16}"), channel="chat", text=TEXT, sent_at=engine.clock(),
        )  # fmt: skip

    def worker() -> None:
        nonlocal taken
        while True:
            with lock:
                i, taken = taken, taken + 1
            if i >= decisions:
                return
            engine.decide(message(i, "m"))

    try:
        for i in range(200):  # warm-up: models, caches, prepared statements
            engine.decide(message(i, "w"))
        cpu, wall = time.process_time(), time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        channels.close()
        engine.close()
    return {"threads": threads, "cpu_ms_per_decision": round(cpu * 1000 / decisions, 3),
            "per_s": round(decisions / wall, 1), "cores_busy": round(cpu / wall, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--decisions", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(args.threads):  # a fresh database per run
            print(json.dumps(run(n, args.decisions, Path(tmp) / f"run{i}.db")), flush=True)


if __name__ == "__main__":
    main()
