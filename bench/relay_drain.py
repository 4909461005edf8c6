"""The outbox relay's cost, an earlier commit against this tree: CPU per relayed decision and the
longest GIL hold of a drain, on SQLite and on the PostgreSQL server here (a scratch schema).

    PYTHONPATH=src python bench/relay_drain.py --rev e945877 [--rounds 3] [--drains 60] [--per-drain 16]

Each round runs both trees in child processes, alternating which goes first (both see the same
machine load). A child makes decisions with the relay held back, ``--per-drain`` at a time (the
service's relay lingers 50 ms: at ~300 decisions/s a drain finds ~16 events), then times one
``relay.drain()`` on the main thread:
- **CPU per event**: the draining thread's CPU time ÷ events relayed (claim, parse, publish to the
  in-process bus and its subscribers, mark);
- **GIL hold**: a probe thread sleeps 0.1 ms in a loop; how late it wakes is how long another
  thread kept the GIL from it. The largest lateness during a drain, minus the same probe's p99
  while the main thread sleeps, is that drain's longest hold — what a concurrent decision waits.

The earlier tree is ``src/tactful`` of ``--rev`` exported over a copy of this one (untracked model
weights come from here); each child imports its tree's ``tactful`` through ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


class GilProbe:
    """A thread that sleeps 0.1 ms at a time and records how late each wake-up was (ms)."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.0001)
            self.lateness.append((time.perf_counter() - t0 - 0.0001) * 1000)

    def __enter__(self) -> GilProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'relay.db'}"
        return
    import psycopg

    schema = f"tactful_relaybench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def child(backend: str, drains: int, per_drain: int, chunk: int | None) -> dict[str, Any]:
    """One tree's figures (runs in a process whose ``tactful`` is that tree's)."""
    from run import demo_message  # bench/ is on sys.path
    from timing import Clock, pct

    from tactful.config import Settings
    from tactful.demo import load_messages, seed
    from tactful.engine import Engine

    with tempfile.TemporaryDirectory() as folder, _database(backend, Path(folder)) as url:
        engine = Engine.from_settings(Settings(database_url=url), clock=Clock(), background_relay=True)
        relay = engine.relay
        relay.kick = lambda: None  # type: ignore[method-assign]  # held back: drained below only
        if chunk is not None:
            relay._batch = chunk  # both trees' relays take it (the old one's default was 200)
        try:
            tenant_id, _ = seed(engine)
            texts = [m.text for m in load_messages(None)[0]]
            clock: Clock = engine.clock  # type: ignore[assignment]
            n = 0
            for _ in range(100):  # warm-up: caches, prepared statements, both relay statements
                engine.decide(demo_message(tenant_id, texts, 10_000_000 + n, clock.now))
                n += 1
            relay.drain()
            cpu_per_event: list[float] = []
            holds: list[float] = []
            walls: list[float] = []
            with GilProbe() as probe:
                time.sleep(0.3)
                idle = pct(probe.lateness, 0.99)  # the probe's own lateness with nothing running
                for _ in range(drains):
                    for _ in range(per_drain):
                        engine.decide(demo_message(tenant_id, texts, n, clock.now))
                        n += 1
                    time.sleep(0.01)  # let the probe settle after the decisions
                    mark = len(probe.lateness)
                    w0, c0 = time.perf_counter(), time.thread_time()
                    sent = relay.drain()
                    cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
                    time.sleep(0.002)  # the probe's wake-up that a drain's last hold delayed
                    assert sent == per_drain, sent
                    cpu_per_event.append(cpu * 1000 / sent)
                    walls.append(wall * 1000)
                    holds.append(max(probe.lateness[mark:], default=0.0) - idle)
        finally:
            engine.close()
    return {
        "cpu_per_event_ms": statistics.median(cpu_per_event),
        "drain_wall_p50_ms": pct(walls, 0.5),
        "gil_hold_p50_ms": pct(holds, 0.5),
        "gil_hold_p90_ms": pct(holds, 0.9),
        "gil_hold_max_ms": max(holds),
        "probe_idle_p99_ms": idle,
    }


def export(rev: str, into: Path) -> Path:
    """``src/tactful`` at ``rev`` over a copy of this tree's (for its untracked artifacts)."""
    package = into / "src" / "tactful"
    shutil.copytree(ROOT / "src/tactful", package, ignore=shutil.ignore_patterns("__pycache__"))
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "src/tactful"], check=True, capture_output=True, text=True
    ).stdout.split()
    for path in tracked:  # this tree's files the old commit lacks go; its own come back below
        if path.endswith(".py"):
            (into / path).unlink(missing_ok=True)
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev, "src/tactful"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for path in listed:
        show = ["git", "-C", str(ROOT), "show", f"{rev}:{path}"]
        (into / path).parent.mkdir(parents=True, exist_ok=True)
        (into / path).write_bytes(subprocess.run(show, check=True, capture_output=True).stdout)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", default="e945877", help="the earlier commit (B is this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drains", type=int, default=60)
    parser.add_argument("--per-drain", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--chunk", type=int, default=None, help="events per claim (default: each tree's)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.drains, args.per_drain, args.chunk)))
        return
    with tempfile.TemporaryDirectory() as folder:
        trees = {"old": str(export(args.rev, Path(folder))), "new": str(ROOT / "src")}
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for i in range(args.rounds):
            for backend in args.backends.split(","):
                for name in sorted(trees, reverse=bool(i % 2)):
                    env = {**os.environ, "PYTHONPATH": f"{trees[name]}{os.pathsep}{ROOT / 'bench'}"}
                    command = [sys.executable, __file__, "--child", backend, "--drains", str(args.drains)]
                    command += ["--per-drain", str(args.per_drain)]
                    if args.chunk is not None:
                        command += ["--chunk", str(args.chunk)]
                    done = subprocess.run(
                        command, check=True, capture_output=True, text=True, env=env, cwd=ROOT
                    )
                    out = done.stdout
                    row = json.loads(out.strip().splitlines()[-1])
                    results.setdefault((backend, name), []).append(row)
                    print(f"round {i} {backend:10} {name}: {json.dumps(row)}", flush=True)
    print(f"\nmedians over {args.rounds} rounds, {args.drains} drains of {args.per_drain} events each")
    for backend in args.backends.split(","):
        old, new = results[(backend, "old")], results[(backend, "new")]
        for key in old[0]:
            a = statistics.median(r[key] for r in old)
            b = statistics.median(r[key] for r in new)
            ratio = b / a if a > 0 else float("nan")
            print(f"{backend:10} {key:20} old {a:7.3f}  new {b:7.3f}  new/old {ratio:5.2f}")


if __name__ == "__main__":
    main()
