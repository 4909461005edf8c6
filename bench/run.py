"""``make bench``: measure the decision path and write docs/performance.md.

Every figure is measured in this process (or a server it starts), next to a baseline from the same
run, because the machine is shared and noisy: compare ratios across runs, not absolute numbers.

    python bench/run.py [--write docs/performance.md] [--decisions 3000] [--http-seconds 8]

The HTTP figures are measured with wrk (bench/http_load.py); without wrk they are skipped, saying so.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import timing
from cel_libraries import compare as compare_cel_libraries
from doc_parts import with_hand_written_part
from http_load import bench_http, bench_postgres_processes, http_section, scale_section, wrk_missing
from regressions import compare, ratios
from timing import cpu_unit_ms, pct

from tactful.config import Settings
from tactful.demo import DEMO_CUSTOMERS, load_messages, seed
from tactful.demo import bench_message as demo_message
from tactful.domain import ConversationId, CustomerId, EventId, InboundMessage
from tactful.engine import Engine
from tactful.wiring import settle_startup_heap


class Clock(timing.Clock):
    """The bench's clock moves 7 s per read, so feature and reward windows see time pass."""

    def __init__(self) -> None:
        super().__init__(step=timedelta(seconds=7))


DecisionClock = timing.DecisionClock  # (defined there for every bench script)


#: Blocks the timed decisions are split into, with the baseline's calls run between them.
BASELINE_BLOCKS = 10


def time_decisions(engine: Engine, n: int, baseline: Callable[[], object] | None = None) -> dict[str, object]:
    """Seed the demo tenant, warm up, then time ``n`` decisions over the demo's customer messages.

    ``baseline`` (a bare durable commit): called ``n`` times in all, a share after each of
    ``BASELINE_BLOCKS`` blocks of decisions, so that it samples the disk over the same minutes as
    the decisions do (measured after them, its p50 moved 0.06–0.16 ms between runs and made the
    ratios to it swing by 2–3×). Its calls are not counted in the decisions' figures."""
    tenant_id, _ = seed(engine)
    settle_startup_heap()  # as the services do once their engine is built
    messages, source = load_messages(None)
    texts = [m.text for m in messages]
    clock: timing.Clock = engine.clock  # type: ignore[assignment]
    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    cpu: list[float] = []  # this thread's CPU time per decision (no waiting for the disk)

    def message(i: int) -> InboundMessage:
        # Sent now, decided 7 s later: as with the per-read clock the bench used before.
        inbound = demo_message(tenant_id, texts, i, clock.now)
        if isinstance(clock, DecisionClock):  # (a per-read ``Clock`` moves by itself)
            clock.advance()
        return inbound

    # Decisions where a richer signal tier ran (its gate opened and the channel's budget allowed
    # it): that tier's wait is reported separately, as the issue asks, beside the net-only path.
    net_only: list[float] = []
    rich: list[float] = []
    for i in range(200):  # warm-up: imports, caches, prepared statements
        engine.decide(message(10_000_000 + i))
    commits: list[float] = []
    block = max(1, n // BASELINE_BLOCKS)
    elapsed, process_cpu = 0.0, 0.0
    for first in range(0, n, block):
        start, process0 = time.perf_counter(), time.process_time()
        for i in range(first, min(first + block, n)):
            t0, c0 = time.perf_counter(), time.thread_time()
            d = engine.decide(message(i))
            totals.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
            (rich if "base_tier" in d.model_versions else net_only).append(totals[-1])
            for stage, ms in d.latency_ms.items():
                stages.setdefault(stage, []).append(ms)
        elapsed += time.perf_counter() - start
        process_cpu += time.process_time() - process0
        if baseline is not None:
            for _ in range(min(block, n - first)):
                t0 = time.perf_counter()
                baseline()
                commits.append((time.perf_counter() - t0) * 1000)
    out: dict[str, object] = {}
    if commits:
        out["baseline_p50_ms"], out["baseline_p99_ms"] = pct(commits, 0.5), pct(commits, 0.99)
    return out | {
        "n": n,
        "source": source,
        "p50_ms": pct(totals, 0.50),
        "p99_ms": pct(totals, 0.99),
        "net_p99_ms": pct(net_only, 0.99),
        "rich_share": len(rich) / n,
        "rich_p50_ms": pct(rich, 0.50) if rich else 0.0,
        "cpu_p50_ms": pct(cpu, 0.50),
        # All threads (the relay's and the richer tier's workers too), per decision.
        "process_cpu_ms": process_cpu * 1000 / n,
        "mean_ms": statistics.fmean(totals),
        "per_s": n / elapsed,
        "stages_p50": {k: pct(v, 0.5) for k, v in stages.items() if k != "total"},
        "stages_p99": {k: pct(v, 0.99) for k, v in stages.items() if k != "total"},
    }


def timed(n: int, action: Callable[[], object]) -> tuple[float, float]:
    samples: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        action()
        samples.append((time.perf_counter() - t0) * 1000)
    return pct(samples, 0.5), pct(samples, 0.99)


def bench_decide(n: int, tmp: Path) -> dict[str, object]:
    """In-process ``Engine.decide`` on a SQLite file (WAL), every decision durably written with its
    audit entry and outbox event in one transaction. The outbox relay runs on its thread, as in
    the service (``tactful serve``), so the decision's wall time holds one durable commit."""
    engine = Engine.from_settings(
        Settings(database_url=f"sqlite:///{tmp / 'bench.db'}"), clock=DecisionClock(), background_relay=True
    )
    # Baseline, same process and disk: one durable SQLite insert+commit of a decision-sized row,
    # timed between blocks of decisions (``time_decisions``).
    con = sqlite3.connect(tmp / "baseline.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT)")
    doc = "x" * 3000

    def commit() -> None:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t (doc) VALUES (?)", (doc,))
        con.execute("COMMIT")

    try:
        result = time_decisions(engine, n, baseline=commit)
    finally:
        engine.close()
        con.close()
    result["cpu_unit_ms"] = cpu_unit_ms()
    return result


def bench_decide_postgres(n: int) -> dict[str, object] | None:
    """The same on the PostgreSQL server here (in a scratch schema), with its own baseline: one
    insert+commit round trip of a decision-sized row. None when the server is not reachable."""
    import psycopg

    server = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None
    schema = f"tactful_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{server}?options=-csearch_path%3D{schema}"
        engine = Engine.from_settings(
            Settings(database_url=url), clock=DecisionClock(), background_relay=True
        )
        with psycopg.connect(url) as con:
            con.execute("CREATE TABLE t (id serial PRIMARY KEY, doc text)")
            con.commit()
            doc = "x" * 3000

            def commit() -> None:
                con.execute("INSERT INTO t (doc) VALUES (%s)", (doc,))
                con.commit()

            try:
                result = time_decisions(engine, n, baseline=commit)
                result["round_trips"] = count_round_trips(engine)
            finally:
                engine.close()
        return result
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def count_round_trips(engine: Engine, n: int = 20) -> float:
    """Round trips per decision on the wire (tactful.store.roundtrips), the service's way: the
    outbox relayed in the background."""
    from tactful.store.roundtrips import RoundTrips

    tenant_id, _ = seed(engine)
    counter = RoundTrips(engine.store._db)  # type: ignore[attr-defined]
    counts = []
    try:
        for i in range(n):
            c = DEMO_CUSTOMERS[i % len(DEMO_CUSTOMERS)]
            message = InboundMessage(
                event_id=EventId(f"rt{i}"),
                tenant_id=tenant_id,
                customer_id=CustomerId(c.customer_id),
                conversation_id=ConversationId("rt"),
                channel=c.channel,
                text="I was charged twice for my order, please refund the second payment",
                sent_at=engine.clock.now,  # type: ignore[attr-defined]
            )
            if isinstance(engine.clock, DecisionClock):  # as in time_decisions: time passes
                engine.clock.advance()
            with counter.counting():
                engine.decide(message)
            counts.append(counter.count())
    finally:
        counter.close()
    return statistics.fmean(counts)


def render(
    decide: dict[str, object],
    postgres: dict[str, object] | None,
    http_: dict[str, Any] | None,
    scale: dict[str, Any] | None,
    cel_libs: dict[str, Any],
    command: str,
) -> str:
    sp50: dict[str, float] = decide["stages_p50"]  # type: ignore[assignment]
    sp99: dict[str, float] = decide["stages_p99"]  # type: ignore[assignment]
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (`bench/run.py`); the machine is shared and noisy (2 cores), so each",
        "figure comes with a baseline from the same run. Re-run to refresh: `--write` replaces",
        "everything above the hand-written part at the end.",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; python {platform.python_version()}; "
        f"{os.cpu_count()} cores",
        f"- command: `{command}`",
        "",
        "## In-process `Engine.decide` (SQLite file, WAL, durable audit write per decision)",
        "",
        f"{decide['n']} decisions over the customer messages of {Path(str(decide['source'])).name}, "
        "8 demo customers, default policy, the default signal tiers "
        "(`fast` inline as the safety net; a richer tier on a worker thread only where the channel's "
        "latency budget allows, docs/signals-tiers.md).",
        "",
        "| figure | value | aim |",
        "|---|---|---|",
        f"| p50 | {decide['p50_ms']:.2f} ms | |",
        f"| CPU p50 (this thread's CPU time per decision) | {decide['cpu_p50_ms']:.2f} ms | ≤ 1.5 ms |",
        f"| p99 | {decide['p99_ms']:.2f} ms | ≤ 2 ms quiet; ≤ 3× bare commit p99 |",
        f"| p99 of the decisions the `fast` net answered alone ({1 - decide['rich_share']:.1%}) | "
        f"{decide['net_p99_ms']:.2f} ms | ≤ 2 ms quiet; ≤ 3× bare commit p99 |",
        f"| decisions where a richer tier ran ({decide['rich_share']:.1%}): p50 | "
        f"{decide['rich_p50_ms']:.2f} ms | within the channel's budget |",
        f"| process CPU per decision (all threads: relay, tier workers) | "
        f"{decide['process_cpu_ms']:.2f} ms | |",
        f"| mean | {decide['mean_ms']:.2f} ms | |",
        f"| decisions/s (one thread) | {decide['per_s']:.0f} | |",
        "| baseline: bare durable SQLite commit of a 3 KB row (between blocks of the decisions), "
        "p50 / p99 | "
        f"{decide['baseline_p50_ms']:.3f} / {decide['baseline_p99_ms']:.3f} ms | |",
        f"| baseline for CPU figures: a fixed pure-Python task (`timing.cpu_unit_ms`), thread CPU | "
        f"{decide.get('cpu_unit_ms', 0.0):.3f} ms | |",
        "",
        "Per stage (ms):",
        "",
        "| stage | p50 | p99 |",
        "|---|---|---|",
        *[f"| {k} | {sp50[k]:.3f} | {sp99[k]:.3f} |" for k in sp50],
        "",
    ]
    if postgres:
        lines += [
            "## In-process `Engine.decide` on PostgreSQL 15 (127.0.0.1, same machine)",
            "",
            "The same run against the PostgreSQL server here, in a scratch schema.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| p50 / p99 | {postgres['p50_ms']:.2f} / {postgres['p99_ms']:.2f} ms |",
            # The richer tier runs on ~1.5 % of the decisions: more than 1 %, so the p99 of all
            # decisions is one of them; the store's share shows in the net-only p99.
            f"| p99, `fast` net alone ({1 - float(postgres['rich_share']):.1%} of the decisions) "
            f"| {postgres['net_p99_ms']:.2f} ms |",
            f"| thread CPU p50 | {postgres['cpu_p50_ms']:.2f} ms |",
            f"| decisions/s (one thread) | {postgres['per_s']:.0f} |",
            f"| round trips per decision (counted on the wire, relay in the background) | "
            f"{postgres.get('round_trips', float('nan')):.1f} (aim ≤ 6) |",
            f"| baseline: one insert + commit round trip of a 3 KB row (between blocks), p50 / p99 | "
            f"{postgres['baseline_p50_ms']:.3f} / {postgres['baseline_p99_ms']:.3f} ms |",
            "",
        ]
    if http_:
        lines += http_section(http_, decide)
    if scale:
        lines += scale_section(scale)
    lines += [
        "## CEL library for policy conditions (`bench/cel_libraries.py`)",
        "",
        "Five conditions of the default policy against one activation, median of 5 runs; and what a",
        "condition reading a missing key does.",
        "",
        "| library | µs per condition | missing key |",
        "|---|---|---|",
    ]
    for name, result in cel_libs.items():
        if isinstance(result, dict):
            lines.append(f"| {name} | {result['us_per_condition']:.2f} | {result['missing_key']} |")
        else:
            lines.append(f"| {name} | — | {result} |")
    lines += [
        "",
        "Chosen: `common-expression-language` — faster here, and a missing key raises, so a broken",
        "condition is reported (a note on the decision) instead of silently matching.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path)
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--http-seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections, one process.")
    parser.add_argument("--pg-connections", type=int, default=16, help="wrk connections, on PG.")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument(
        "--save-figures", action="store_true", help="Keep this run's ratios as the next run's reference."
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--only-core", action="store_true", help="Skip the stage benchmarks (bench/*.py).")
    parser.add_argument(
        "--no-scaleout", action="store_true", help="Skip the scale-out section (NATS, PostgreSQL, faults)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        decide = bench_decide(args.decisions, Path(tmp))
        print(json.dumps(decide, indent=2))
        postgres = None if args.no_postgres else bench_decide_postgres(args.decisions)
        print(json.dumps(postgres, indent=2))
        http_ = scale = None
        if not args.no_http and (why := wrk_missing()) is not None:
            print(f"SKIPPED the HTTP figures: {why}")
        elif not args.no_http:
            http_ = bench_http(args.http_seconds, Path(tmp), args.connections)
            print(json.dumps(http_, indent=2))
            if not args.no_postgres:
                scale = bench_postgres_processes(args.http_seconds, args.pg_connections)
                print(json.dumps(scale, indent=2))
    cel_libs = compare_cel_libraries()
    print(json.dumps(cel_libs, indent=2))
    sections = [] if args.only_core else stage_sections(skip={"scaleout"} if args.no_scaleout else set())
    figures = ratios(decide, postgres, http_, scale)
    previous = (args.write or Path("docs/performance.md")).with_suffix(".json")
    worse = compare(figures, previous)
    if args.write:
        command = "python bench/run.py " + " ".join(sys.argv[1:])
        document = render(decide, postgres, http_, scale, cel_libs, command)
        lines = ["## Ratios to same-run baselines (compared by `make bench` with the previous run)", ""]
        lines += ["| figure | value | better |", "|---|---|---|"]
        lines += [f"| {name} | {value:.3f} | {better} |" for name, (value, better) in figures.items()]
        generated = "\n".join([document, *lines, "", *sections])
        args.write.write_text(with_hand_written_part(generated, args.write))
        print(f"wrote {args.write}")
    print(json.dumps(figures, indent=2))
    if args.write or args.save_figures:
        previous.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    if worse:
        print("REGRESSIONS (> 20 % worse than the previous run, as ratios to same-run baselines):")
        for line in worse:
            print("  " + line)
        sys.exit(1)


#: The benchmarks of the later stages; each module's ``section()`` measures and returns Markdown.
STAGE_BENCHMARKS = (
    "decision_writes",
    "tiers",
    "signals",
    "learning",
    "pii",
    "auth",
    "features",
    "tone",
    "telemetry",
    "channels",
    "decision_quality",
    "scaleout",  # starts its own NATS server and PostgreSQL cluster; --no-scaleout skips it
)


def stage_sections(skip: set[str]) -> list[str]:
    sections = []
    for name in STAGE_BENCHMARKS:
        if name in skip:
            continue
        module = importlib.import_module(name)  # bench/ is on sys.path when run as a script
        print(f"bench/{name}.py ...", flush=True)
        section = module.section()
        print(section)
        sections.append(section)
    return sections


if __name__ == "__main__":
    main()
