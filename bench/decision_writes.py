"""What the decision's single transaction costs, write by write (``Engine.decide`` on a SQLite file).

Since the vault values, feature events and learning log joined the decision's transaction
(``SqlStore.record_decision(side_writes=...)``), ``record_decision`` is the one durable commit of a
decision; this times it and each side write inside it, with the learner in shadow mode so the
learning log is written on every decision, against a plain durable insert+commit in the same run.

    python bench/decision_writes.py [--decisions 600]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import run
from run import DecisionClock, pct, time_decisions, timed

from tactful.config import Settings
from tactful.engine import Engine


def _timing(samples: dict[str, list[float]], obj: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(obj, name)

    def measured(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            samples.setdefault(label, []).append((time.perf_counter() - t0) * 1000)

    setattr(obj, name, measured)


def measure(n: int) -> tuple[dict[str, Any], dict[str, list[float]], tuple[float, float]]:
    samples: dict[str, list[float]] = {}
    seed = run.seed

    def seed_shadow(engine: Engine) -> Any:
        found = seed(engine)
        engine.learner.set_mode(found[0], "shadow")  # type: ignore[attr-defined]
        return found

    run.seed = seed_shadow  # time_decisions seeds the demo tenant through this name
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'writes.db'}"
            engine = Engine.from_settings(Settings(database_url=url), clock=DecisionClock())
            store: Any = engine.store
            _timing(samples, store, "record_decision", "record_decision (one commit, all writes)")
            _timing(samples, store.features, "ingest_in", "  feature events + state")
            _timing(samples, store.learning, "log_choice_in", "  learning log")
            _timing(samples, store.vault, "put_values_in", "  vault values (PII messages only)")
            _timing(samples, engine.relay, "kick", "outbox relay (inline, after commit)")
            try:
                result = time_decisions(engine, n)
            finally:
                engine.close()
            con = sqlite3.connect(Path(tmp) / "baseline.db", isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT)")
            doc = "x" * 3000

            def commit() -> None:
                con.execute("BEGIN IMMEDIATE")
                con.execute("INSERT INTO t (doc) VALUES (?)", (doc,))
                con.execute("COMMIT")

            baseline = timed(n, commit)
            con.close()
    finally:
        run.seed = seed
    return result, samples, baseline


def section(n: int = 600) -> str:
    result, samples, (base50, base99) = measure(n)
    lines = [
        "## The decision's transaction, write by write",
        "",
        f"`python bench/decision_writes.py --decisions {n}`: `Engine.decide` on a SQLite file (WAL,",
        "synchronous=FULL), learner in shadow mode (a learning-log row per decision). Every write of a",
        "decision — decision row, audit entry, outbox event, vault values, feature events and state,",
        "learning log — commits in one transaction (`record_decision`); the side writes are timed inside",
        f"it. Baseline: one durable insert+commit of a 3 kB row, p50 {base50:.3f} ms / p99 {base99:.3f} ms.",
        "",
        "| part | calls | p50 ms | p99 ms | p50 / baseline commit |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, values in samples.items():
        recent = values[-n:]
        p50 = pct(recent, 0.5)
        lines.append(
            f"| {label.strip()} | {len(recent)} | {p50:.3f} | {pct(recent, 0.99):.3f} | {p50 / base50:.1f}× |"
        )
    lines += [
        f"| `decide` total | {n} | {result['p50_ms']:.3f} | {result['p99_ms']:.3f} | "
        f"{float(result['p50_ms']) / base50:.1f}× |",  # type: ignore[arg-type]
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=600)
    print(section(parser.parse_args().decisions))
