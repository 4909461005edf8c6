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
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the servers live in tests/support

from tests.scaleout.test_order import inbound
from tests.support.processes import workers
from tests.support.servers import NatsServer, PostgresCluster

from tactful.bus import Bus, open_bus
from tactful.bus.nats import partition_of
from tactful.domain import Envelope
from tactful.store import open_store
from tactful.tenants import create_tenant

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class WaitSampler:
    """What the database's backends wait on during the burst: ``pg_stat_activity`` sampled every
    50 ms (wait event type/name of active backends, or ``cpu`` when active and not waiting), and the
    database's deadlock count from ``pg_stat_database``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def deadlocks(self) -> int:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
            return int(row[0]) if row else 0

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchall()
                self.samples.update(r[0] for r in rows)

    def __enter__(self) -> WaitSampler:
        self.deadlocks_before = self.deadlocks()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.deadlocks_during = self.deadlocks() - self.deadlocks_before


def pct(ordered: list[float], q: float) -> float:
    return ordered[int(q * (len(ordered) - 1))]


def commit_times(url: str, tenant_id: str) -> dict[str, float]:
    """Inbound event id → when its decision committed (the outbox row is written in the decision's
    transaction), wall-clock seconds."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            # A decision's outbox row refers to its decision (outbox.decision_id): the inbound
            # event id is the decision row's.
            "SELECT d.event_id, extract(epoch FROM o.created_at) FROM outbox o JOIN decisions d "
            "ON d.tenant_id = o.tenant_id AND d.decision_id = o.decision_id WHERE o.tenant_id = %s",
            (tenant_id,),
        ).fetchall()
    return {str(event_id): float(at) for event_id, at in rows}


#: Publishing threads: one publish waits for JetStream's acknowledgement (a round trip), so a
#: single publisher caps the offered load near 1 / round trip — below what the workers can decide.
PUBLISHERS = 16


def publish_concurrently(
    producer: Bus, burst: list[Envelope], sent: dict[str, float], wall: dict[str, float]
) -> None:
    """Publish ``burst`` from ``PUBLISHERS`` threads, each owning whole conversations (so every
    conversation is still published in order)."""
    lanes: dict[int, list[Envelope]] = {}
    for envelope in burst:
        lanes.setdefault(partition_of(envelope.key, PUBLISHERS), []).append(envelope)

    def publish(lane: list[Envelope]) -> None:
        for envelope in lane:
            sent[envelope.event_id] = time.perf_counter()
            wall[envelope.event_id] = time.time()
            producer.publish(envelope)

    with ThreadPoolExecutor(PUBLISHERS) as pool:
        for future in [pool.submit(publish, lane) for lane in lanes.values()]:
            future.result()


def run(
    n_workers: int, messages: int, conversations: int, nats: NatsServer, pg: PostgresCluster, label: str
) -> dict[str, Any]:
    store = open_store(pg.url)
    tenant_id = create_tenant(store, f"bench{label}").tenant.tenant_id
    store.close()
    prefix = f"bench{label}"
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
            wall: dict[str, float] = {}  # wall clock, to compare with the store's timestamps
            with WaitSampler(pg.url) as waits:
                start = time.perf_counter()
                publish_concurrently(producer, burst, sent, wall)
                with done:
                    assert done.wait_for(lambda: all(k in received for k in sent), timeout=600)
            end = max(received[k] for k in sent)
            cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu0.items()}
        finally:
            producer.close()
            observer.close()
    latencies = sorted((received[k] - t) * 1000 for k, t in sent.items())
    committed = commit_times(pg.url, tenant_id)
    stored = sorted((committed[k] - t) * 1000 for k, t in wall.items())
    # perf_counter → wall clock for the observed times, to split publish→commit from commit→observed
    offset = time.time() - time.perf_counter()
    relayed = sorted((received[k] + offset - committed[k]) * 1000 for k in sent)
    return {
        "workers": n_workers,
        "throughput": messages / (end - start),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "cpu_ms_per_decision": {pid: 1000 * s / messages for pid, s in cpu.items()},
        "decided_per_s": messages / (max(committed[k] for k in wall) - min(wall.values())),
        "commit_p50_ms": pct(stored, 0.5),
        "commit_p99_ms": pct(stored, 0.99),
        "relay_p50_ms": pct(relayed, 0.5),
        "relay_p99_ms": pct(relayed, 0.99),
        "deadlocks": waits.deadlocks_during,
        "waits": dict(waits.samples.most_common(6)),
    }


def measure(messages: int, conversations: int, counts: list[int], rounds: int) -> list[list[dict[str, Any]]]:
    """``rounds`` rounds, each running every worker count in ``counts`` (alternating, so a change in
    the machine's load hits both counts alike); ratios are taken within a round."""
    with NatsServer.running() as nats, PostgresCluster.running() as pg:
        return [
            [run(n, messages, conversations, nats, pg, f"{n}r{r}") for n in counts] for r in range(rounds)
        ]


def render(results: list[list[dict[str, Any]]]) -> str:
    lines = [
        "| round | decide workers | decisions/s | ratio to 1 worker | publish→decision p50 | p99 "
        "| worker CPU-ms per decision (all workers; each) | deadlocks | top PostgreSQL waits |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ratios: list[float] = []
    for r, round_ in enumerate(results, 1):
        base = next((x["throughput"] for x in round_ if x["workers"] == 1), round_[0]["throughput"])
        for x in round_:
            each = x["cpu_ms_per_decision"].values()  # a process's CPU ÷ every decision of the burst
            cpu = f"{sum(each):.1f}" + ("" if len(each) == 1 else f" ({', '.join(f'{v:.1f}' for v in each)})")
            waits = ", ".join(f"{k} {v}" for k, v in list(x["waits"].items())[:3])
            lines.append(
                f"| {r} | {x['workers']} | {x['throughput']:.1f} | {x['throughput'] / base:.2f} | "
                f"{x['p50_ms']:.0f} ms | {x['p99_ms']:.0f} ms | {cpu} | {x['deadlocks']} | {waits} |"
            )
            if x["workers"] == 2:
                ratios.append(x["throughput"] / base)
    if ratios:
        lines += ["", f"2 workers ÷ 1 worker, median over rounds: {statistics.median(ratios):.2f}."]
    lines += [
        "",
        "Split of publish→decision (from the store's commit times): "
        + "; ".join(
            f"{x['workers']} worker(s) publish→commit p50 {x['commit_p50_ms']:.0f} ms, "
            f"commit→decision event p50 {x['relay_p50_ms']:.0f} ms"
            for x in results[-1]
        )
        + f". Load average at the end: {os.getloadavg()[0]:.1f}.",
    ]
    return "\n".join(lines)


COMMAND = "PYTHONPATH=src:. python bench/scaleout.py --messages 300 --rounds 2"


def section() -> str:
    """``make bench``'s scale-out section (bench/run.py; skip with ``--no-scaleout``)."""
    from scaleout_faults import measure as measure_faults
    from scaleout_faults import table

    throughput = render(measure(300, 32, [1, 2], 2))
    faults = table(measure_faults())
    return "\n".join([
        "## Scale-out on NATS JetStream and PostgreSQL (issue 13; docs/scale-out.md)", "",
        f"`{COMMAND}` (a private NATS server and PostgreSQL cluster; `decide` workers only):", "",
        throughput, "",
        "Faults on the bus path (`PYTHONPATH=src:. python bench/scaleout_faults.py`): two `decide`",
        "workers and a `relay,features` worker under a steady stream:", "",
        faults, "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--conversations", type=int, default=32)
    parser.add_argument("--order", default="1,2", help="Worker counts in the order to run them.")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    counts = [int(n) for n in args.order.split(",")]
    print(render(measure(args.messages, args.conversations, counts, args.rounds)))


if __name__ == "__main__":
    main()
