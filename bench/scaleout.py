"""Scale-out bench (issue 13): ``tactful worker --role decide`` processes on NATS JetStream and a
PostgreSQL cluster, both private to this run (``tests/support/servers.py``).

For 1 and then 2 decide workers it publishes a burst of inbound messages over many conversations
and measures, from a consumer of the ``decision.made`` stream in this process:

- throughput (decisions/s from the first publish to the last decision event), as a ratio to 1 worker;
- end-to-end latency, inbound publish → decision event received, p50 / p99;
- CPU-ms per decision per worker process (user + system time from /proc, over the burst).

    PYTHONPATH=src:. python bench/scaleout.py [--messages 300] [--conversations 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from typing import Any

from tests.scaleout.test_order import inbound
from tests.support.processes import workers
from tests.support.servers import NatsServer, PostgresCluster

from tactful.bus import open_bus
from tactful.domain import Envelope
from tactful.store import open_store
from tactful.tenants import create_tenant

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def run(
    n_workers: int, messages: int, conversations: int, nats: NatsServer, pg: PostgresCluster
) -> dict[str, Any]:
    store = open_store(pg.url)
    tenant_id = create_tenant(store, f"bench{n_workers}").tenant.tenant_id
    store.close()
    prefix = f"bench{n_workers}"
    bus_url = f"{nats.url}?prefix={prefix}&partitions=16"
    env = {"TACTFUL_DATABASE_URL": pg.url, "TACTFUL_BUS_URL": bus_url, "TACTFUL_SIGNAL_TIERS": "fast"}
    received: dict[str, float] = {}
    done = threading.Condition()

    def on_decision(env_: Envelope) -> None:
        with done:
            received[env_.payload["event_id"]] = time.perf_counter()
            done.notify_all()

    with workers(env, *[("decide",)] * n_workers) as procs:
        observer = open_bus(bus_url)
        producer = open_bus(bus_url, consume=frozenset())
        observer.subscribe("decision.made", on_decision, group="bench")
        try:
            warm = [inbound(tenant_id, f"warm-{i}", 0) for i in range(2 * conversations)]
            for e in warm:
                producer.publish(e)
            with done:
                assert done.wait_for(lambda: len(received) >= len(warm), timeout=300)
            cpu0 = {p.process.pid: cpu_seconds(p.process.pid) for p in procs}
            sent: dict[str, float] = {}
            burst = [inbound(tenant_id, f"conv-{i % conversations}", i) for i in range(messages)]
            start = time.perf_counter()
            for e in burst:
                sent[e.event_id] = time.perf_counter()
                producer.publish(e)
            with done:
                assert done.wait_for(lambda: all(k in received for k in sent), timeout=600)
            end = max(received[k] for k in sent)
            cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu0.items()}
        finally:
            producer.close()
            observer.close()
    latencies = sorted((received[k] - t) * 1000 for k, t in sent.items())
    return {
        "workers": n_workers,
        "throughput": messages / (end - start),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "cpu_ms_per_decision": {pid: 1000 * s / messages for pid, s in cpu.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--conversations", type=int, default=32)
    parser.add_argument("--order", default="1,2", help="Worker counts in the order to run them.")
    args = parser.parse_args()
    counts = [int(n) for n in args.order.split(",")]
    with NatsServer.running() as nats, PostgresCluster.running() as pg:
        results = sorted(
            (run(n, args.messages, args.conversations, nats, pg) for n in counts), key=lambda r: r["workers"]
        )
    base = results[0]["throughput"]
    print(
        "| decide workers | decisions/s | ratio to 1 | publish→decision p50 | p99 "
        "| CPU-ms per decision, per worker |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        cpu = ", ".join(f"{v:.1f}" for v in r["cpu_ms_per_decision"].values())
        print(
            f"| {r['workers']} | {r['throughput']:.1f} | {r['throughput'] / base:.2f} | "
            f"{r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {cpu} |"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
