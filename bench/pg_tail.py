"""Where a PostgreSQL decision's tail goes (issue 12): the in-process bench of ``bench/run.py``,
each decision split into this thread's CPU, its waits on the server (each round trip timed in
psycopg's ``wait``, with the CPU spent inside it), the garbage collector, the CPU other threads of
the process burnt meanwhile (the background relay, a richer tier's worker) and the rest (waiting
for the GIL or for a core). Prints the median decision beside the mean of the slowest 1 %.

    PYTHONPATH=src python bench/pg_tail.py [--decisions 1000] [--rounds 1] [--json]

Runs against whatever ``tactful`` is on PYTHONPATH, so the same script measures a base tree
(``PYTHONPATH=/work/wt/base/src``) for an interleaved A/B. A scratch schema on the shared server.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import timing
from timing import pct

SERVER = "postgresql://postgres@127.0.0.1:5432/test"


class Waits:
    """Per-thread log of psycopg waits (one per round trip) and of GC pauses."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.gc_ms = 0.0
        self._gc_start = 0.0
        self._main = threading.get_ident()

    def log(self) -> list[tuple[float, float]]:
        log = getattr(self.local, "log", None)
        if log is None:
            log = self.local.log = []
        return log

    def install(self) -> None:
        from tactful.store.pg_timed import TimedConnection

        original = TimedConnection.wait
        waits = self

        def wait(conn: Any, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(conn, gen, interval, timeout)
            finally:
                waits.log().append(((time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000))

        TimedConnection.wait = wait  # type: ignore[method-assign]
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, _info: dict[str, Any]) -> None:
        if threading.get_ident() != self._main:
            return
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_ms += (time.perf_counter() - self._gc_start) * 1000


def run(n: int, waits: Waits, *, relay: bool = True) -> list[dict[str, float]]:
    import psycopg

    from tactful.config import Settings
    from tactful.demo import bench_message as demo_message
    from tactful.demo import load_messages, seed
    from tactful.engine import Engine

    admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    schema = f"tactful_tail_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    rows: list[dict[str, float]] = []
    try:
        url = f"{SERVER}?options=-csearch_path%3D{schema}"
        engine = Engine.from_settings(Settings(database_url=url), clock=_clock(), background_relay=True)
        engine.clock.attach(engine)  # type: ignore[attr-defined]
        try:
            tenant_id, _ = seed(engine)
            texts = [m.text for m in load_messages(None)[0]]
            now = engine.clock

            def message(i: int) -> Any:
                return demo_message(tenant_id, texts, i, now.now)  # type: ignore[attr-defined]

            for i in range(200):
                engine.decide(message(10_000_000 + i))
            if not relay:  # attribution: the relay thread idle while timing (drained at close)
                engine.relay.kick = lambda: None  # type: ignore[method-assign]
            for i in range(n):
                log = waits.log()
                log.clear()
                gc0 = waits.gc_ms
                t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
                d = engine.decide(message(i))
                wall = (time.perf_counter() - t0) * 1000
                cpu = (time.thread_time() - c0) * 1000
                other = (time.process_time() - p0) * 1000 - cpu
                db = sum(w for w, _ in log)
                db_cpu = sum(c for _, c in log)
                rows.append(
                    {
                        "wall": wall,
                        "cpu": cpu - db_cpu,
                        "db_wait": db - db_cpu,
                        "db_n": len(log),
                        "commit": log[-1][0] if log else 0.0,
                        "first": log[0][0] if log else 0.0,
                        "gc": waits.gc_ms - gc0,
                        "other_cpu": other,
                        "rest": wall - cpu - (db - db_cpu),
                        "rich": float("base_tier" in d.model_versions),
                        "waits": [round(w, 3) for w, _ in log],
                    }
                )
        finally:
            engine.close()
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
    return rows


def floor(n: int, cpu_ms: float) -> dict[str, float]:
    """The machine's floor for a decision of this shape at this minute: ``cpu_ms`` of pure-Python
    CPU, then three round trips as the decision makes them (a read; BEGIN, an insert and a row-lock
    read pipelined to one wait; the rest and COMMIT), no engine, no relay."""
    import psycopg

    admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    schema = f"tactful_floor_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        con = psycopg.connect(f"{SERVER}?options=-csearch_path%3D{schema}", autocommit=True)
        con.execute("CREATE TABLE head (k int PRIMARY KEY, seq bigint)")
        con.execute("CREATE TABLE t (id serial PRIMARY KEY, doc text)")
        con.execute("INSERT INTO head VALUES (1, 0)")
        doc = "x" * 3000
        calibrate = time.thread_time()
        x = 0
        for i in range(200_000):
            x += i * i
        per_loop = (time.thread_time() - calibrate) / 200_000
        loops = int(cpu_ms / 1000 / per_loop)
        walls = []
        for _ in range(n):
            t0 = time.perf_counter()
            for i in range(loops):
                x += i * i
            con.execute("SELECT 1").fetchone()
            with con.pipeline() as p:
                cur = con.cursor()
                cur.execute("BEGIN")
                cur.execute("INSERT INTO t (doc) VALUES (%s)", (doc,))
                cur.execute("SELECT seq FROM head WHERE k = 1 FOR UPDATE")
                p.sync()
                (seq,) = cur.fetchone()  # type: ignore[misc]
                cur.execute("INSERT INTO t (doc) VALUES (%s)", (doc,))
                cur.execute("UPDATE head SET seq = %s WHERE k = 1", (seq + 1,))
                cur.execute("COMMIT")
            walls.append((time.perf_counter() - t0) * 1000)
        con.close()
        return {"cpu_ms": cpu_ms, "p50": pct(walls, 0.5), "p99": pct(walls, 0.99)}
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def _clock() -> Any:
    return timing.DecisionClock()  # 7 s per decision (attached to the engine below)


def summary(rows: list[dict[str, float]], which: str = "all") -> dict[str, Any]:
    if which == "net":
        rows = [r for r in rows if not r["rich"]]
    walls = [r["wall"] for r in rows]
    p99 = pct(walls, 0.99)
    tail = sorted(rows, key=lambda r: r["wall"])[-max(1, len(rows) // 100) :]
    keys = ("wall", "cpu", "db_wait", "db_n", "first", "commit", "gc", "other_cpu", "rest", "rich")
    return {
        "n": len(rows),
        "p50": pct(walls, 0.5),
        "p90": pct(walls, 0.9),
        "p99": p99,
        "median_row": {k: round(statistics.median(r[k] for r in rows), 3) for k in keys},
        "tail_mean": {k: round(statistics.fmean(r[k] for r in tail), 3) for k in keys},
        "commit_p50_p99": (pct([r["commit"] for r in rows], 0.5), pct([r["commit"] for r in rows], 0.99)),
        "gc_share_of_tail": sum(1 for r in tail if r["gc"] > 1.0) / len(tail),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dump", help="write every decision's row to this JSON file")
    parser.add_argument("--no-relay", action="store_true", help="relay idle while timing (attribution)")
    parser.add_argument("--floor", action="store_true", help="also time the floor (see floor())")
    args = parser.parse_args()
    waits = Waits()
    waits.install()
    rows = run(args.decisions, waits, relay=not args.no_relay)
    if args.dump:
        Path(args.dump).write_text(json.dumps(rows))
    for r in rows:
        r.pop("waits")
    out: dict[str, Any] = {"all": summary(rows), "net": summary(rows, "net")}
    if args.floor:
        cpu_ms = statistics.median(r["cpu"] for r in rows)
        out["floor"] = floor(args.decisions, cpu_ms)
    print(json.dumps(out, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
