"""The guard and signals stages inside ``decide``, split by whether the ``fast`` net answered alone.

``bench/run.py`` reports each stage's p50/p99 over all decisions; the signals stage's p99 there
is the richer tier's wait (it runs on ~1.7 % of the decisions, more than 1 %). This script runs the
same decisions (bench/run.py's engine and clock: SQLite file, full durability, the relay on its thread, 200
warm-up decisions) and prints one JSON line: per stage p50/p99 of the decisions the net answered
alone (``fast_only``; wall clock as ``latency_ms``, and ``*_cpu``: the stage's own thread CPU, without
waits for the GIL or the scheduler), the richer share, and this thread's CPU p50 per decision.

    PYTHONPATH=src python bench/signals_stage.py [--decisions 3000]

The package comes from ``PYTHONPATH``, so one copy of this script times any tree: an interleaved
A/B alternates ``PYTHONPATH=/path/to/base/src`` and ``PYTHONPATH=src`` runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from run import DecisionClock, demo_message
from timing import pct

import tactful.engine as engine_module
from tactful.config import Settings
from tactful.demo import load_messages, seed
from tactful.domain import InboundMessage
from tactful.engine import Engine

_STAGES = ("guard", "signals")


def _cpu_timed(name: str, spent: dict[str, float]) -> None:
    """Wrap the engine module's step ``name`` (looked up at each call) with a thread-CPU counter:
    the stage's own cost, without waits for the GIL (the relay's thread) or the scheduler."""
    inner = getattr(engine_module, name)

    def timed(*a: Any, **k: Any) -> Any:
        c0 = time.thread_time()
        try:
            return inner(*a, **k)
        finally:
            spent[name] = (time.thread_time() - c0) * 1000

    setattr(engine_module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine.from_settings(
            Settings(database_url=f"sqlite:///{Path(folder) / 'stage.db'}"),
            clock=DecisionClock(),
            background_relay=True,
        )
        try:
            tenant, _ = seed(engine)
            texts = [m.text for m in load_messages(None)[0]]
            clock: DecisionClock = engine.clock  # type: ignore[assignment]

            def message(i: int) -> InboundMessage:  # sent now, decided 7 s later (as bench/run.py)
                inbound = demo_message(tenant, texts, i, clock.now)
                clock.advance()
                return inbound

            for i in range(200):
                engine.decide(message(10_000_000 + i))
            spent: dict[str, float] = {}
            for step in ("guard_message", "read_signals"):
                _cpu_timed(step, spent)
            fast: dict[str, list[float]] = {}
            cpu: list[float] = []
            rich = 0
            for i in range(args.decisions):
                c0 = time.thread_time()
                d = engine.decide(message(i))
                cpu.append((time.thread_time() - c0) * 1000)
                if "base_tier" in d.model_versions:
                    rich += 1
                    continue
                for stage, ms in d.latency_ms.items():
                    fast.setdefault(stage, []).append(ms)
                for step, stage in (("guard_message", "guard_cpu"), ("read_signals", "signals_cpu")):
                    fast.setdefault(stage, []).append(spent[step])
        finally:
            engine.close()
    print(
        json.dumps(
            {
                "n": args.decisions,
                "rich_share": rich / args.decisions,
                "cpu_p50_ms": pct(cpu, 0.5),
                "fast_only_p50": {k: round(pct(v, 0.5), 4) for k, v in fast.items() if k.startswith(_STAGES)},
                "fast_only_p99": {
                    k: round(pct(v, 0.99), 4) for k, v in fast.items() if k.startswith(_STAGES)
                },
            }
        )
    )


if __name__ == "__main__":
    main()
