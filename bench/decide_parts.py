"""Where a decision's CPU goes outside the named stages: this thread's CPU time per part.

Wraps the engine's and the store's steps (on the instance or class, nothing else changes) with a
``time.thread_time`` counter, runs the bench's decisions (bench/run.py: SQLite file, full
durability, the relay on its thread) and prints milliseconds of CPU per decision for each part.
Parts nest (``group_commit._commit`` holds ``record_decision``'s statements and side writes), so
they do not add up; the remainder of the total is the stages' own code. Shares, not absolutes:
the wrappers cost ~1 µs a call.

    PYTHONPATH=src python bench/decide_parts.py [--decisions 1000]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path
from typing import Any

from run import DecisionClock, demo_message

import tactful.engine as engine_module
import tactful.policy.compiled as compiled
import tactful.store.group_commit as group_commit
import tactful.store.sql as sql
from tactful.config import Settings
from tactful.demo import load_messages, seed
from tactful.domain import Decision
from tactful.engine import Engine
from tactful.store.database import RawTransaction
from tactful.store.sql_facts import SqlDecisionFacts
from tactful.store.sql_feature_writes import DecisionFeatureWrite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1000)
    args = parser.parse_args()
    clock = DecisionClock()  # 7 s per decision, however often the code under test reads it
    engine = Engine.from_settings(
        Settings(database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'parts.db'}"),
        clock=clock,
        background_relay=True,
    )
    clock.attach(engine)
    spent: collections.Counter[str] = collections.Counter()

    def wrap(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            c0 = time.thread_time()
            try:
                return inner(*a, **k)
            finally:
                spent[label] += time.thread_time() - c0

        setattr(owner, name, timed)

    wrap(engine, "_read", "engine._read")
    for name in ("input_fingerprint", "guard_message", "read_signals", "side_writes"):
        wrap(engine_module, name, f"engine: {name}")  # the stages' steps, looked up at each call
    wrap(engine.store, "record_decision", "store.record_decision")
    wrap(engine.features, "from_row", "features.from_row (context)")
    for name in ("canonical_bytes", "payload_text", "append_batch_in"):  # as sql.py imports them
        wrap(sql, name, f"sql.{name}")
    wrap(group_commit.GroupCommit, "_commit", "group_commit._commit (statements + commit)")
    wrap(group_commit.Phased, "__call__", "the decision's statements + side writes")
    wrap(RawTransaction, "execute", "RawTransaction.execute")
    wrap(compiled.CompiledPolicy, "evaluate", "policy.evaluate")
    wrap(Decision, "model_dump", "Decision.model_dump")
    wrap(DecisionFeatureWrite, "__init__", "feature write: fold + serialise (before the lock)")
    wrap(DecisionFeatureWrite, "__call__", "feature write: statements")
    wrap(SqlDecisionFacts, "record_in", "decision facts row")

    try:
        tenant_id, _ = seed(engine)
        texts = [m.text for m in load_messages(None)[0]]
        for i in range(300):  # warm-up, as bench/run.py
            engine.decide(demo_message(tenant_id, texts, 10_000_000 + i, engine.clock.now))
        spent.clear()
        c0 = time.thread_time()
        for i in range(args.decisions):
            engine.decide(demo_message(tenant_id, texts, i, engine.clock.now))
        total = time.thread_time() - c0
    finally:
        engine.close()
    n = args.decisions
    print(f"{'this thread, all of decide':52s} {total * 1000 / n:6.3f} ms/decision")
    for label, seconds in spent.most_common():
        print(f"{label:52s} {seconds * 1000 / n:6.3f}")


if __name__ == "__main__":
    main()
