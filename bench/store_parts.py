"""Where a SQLite decision's store CPU goes: thread CPU per decision of the store's parts on the
decision path (issue 12), measured with timers wrapped around each part while ``Engine.decide``
runs the bench's decisions (bench/run.py's engine, messages and clock, relay in the background).

    PYTHONPATH=src python bench/store_parts.py [--decisions 500]

The parts nest (``_commit`` is inside ``record_decision``); each timer costs ~1 µs. Absolute times
follow the machine's load: compare runs made alternately, or the parts' shares.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from run import DecisionClock, demo_message
from timing import pct

import tactful.engine as engine_module
from tactful.config import Settings
from tactful.demo import load_messages, seed
from tactful.domain import InboundMessage
from tactful.store import group_commit, sql, sql_features

#: (owner, attribute, label) of every part timed.
PARTS: list[tuple[Any, str, str]] = [
    (engine_module.Engine, "decide", "Engine.decide (all of it)"),
    (sql.SqlStore, "read_for_decision", "SqlStore.read_for_decision (the combined read)"),
    (sql_features.SqlFeatureStore, "from_row", "SqlFeatureStore.from_row (state parse and read)"),
    (engine_module, "side_writes", "side_writes (feature pre-fold, serialisation)"),
    (sql.SqlStore, "record_decision", "SqlStore.record_decision"),
    (group_commit.GroupCommit, "_commit", "  GroupCommit._commit (statements and commit)"),
]


def timed(samples: dict[str, list[float]], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            samples.setdefault(label, []).append((time.thread_time() - start) * 1000)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=500)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {}
    for owner, name, label in PARTS:
        setattr(owner, name, timed(samples, label, getattr(owner, name)))
    with tempfile.TemporaryDirectory() as tmp:
        clock = DecisionClock()
        engine = engine_module.Engine.from_settings(
            Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}"), clock=clock, background_relay=True
        )
        clock.attach(engine)
        try:
            tenant_id, _ = seed(engine)
            texts = [m.text for m in load_messages(None)[0]]

            def message(i: int) -> InboundMessage:
                return demo_message(tenant_id, texts, i, engine.clock.now, prefix="s")  # type: ignore[attr-defined]

            for i in range(200):  # warm-up: imports, caches, prepared statements
                engine.decide(message(10_000_000 + i))
            samples.clear()
            for i in range(args.decisions):
                engine.decide(message(i))
        finally:
            engine.close()
    print(f"thread CPU per decision, {args.decisions} decisions (ms)")
    for _, _, label in PARTS:
        values = samples.get(label, [])
        if values:
            print(f"{label:58s} p50 {pct(values, 0.5):.3f}  mean {sum(values) / len(values):.3f}")


if __name__ == "__main__":
    main()
