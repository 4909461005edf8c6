"""``make bench`` prints what got more than 20 % worse than the committed previous run, CPU figures
against a CPU baseline of the same run."""

from __future__ import annotations

import json
from pathlib import Path

from bench.regressions import compare, ratios

CPU_RATIO = "sqlite decide CPU p50 / CPU unit (timing.cpu_unit_ms)"


def decide(cpu_ms: float, unit_ms: float, commit_p50_ms: float = 0.1) -> dict[str, float]:
    return {
        "p50_ms": 2.0,
        "p99_ms": 6.0,
        "net_p99_ms": 5.0,
        "cpu_p50_ms": cpu_ms,
        "cpu_unit_ms": unit_ms,
        "baseline_p50_ms": commit_p50_ms,
        "baseline_p99_ms": 0.2,
    }


def test_cpu_is_compared_with_the_cpu_unit_not_with_the_disk(tmp_path: Path) -> None:
    previous = tmp_path / "performance.json"
    previous.write_text(json.dumps(ratios(decide(1.8, 0.18), None, None)))
    # A slower disk (the bare commit 2.7x slower) says nothing about the decision's CPU ...
    assert compare(ratios(decide(1.8, 0.18, commit_p50_ms=0.27), None, None), previous) == []
    # ... while a machine twice as slow moves the CPU and its unit alike.
    assert compare(ratios(decide(3.6, 0.36), None, None), previous) == []


def test_a_figure_more_than_a_fifth_worse_is_reported(tmp_path: Path) -> None:
    previous = tmp_path / "performance.json"
    previous.write_text(json.dumps(ratios(decide(1.8, 0.18), None, None)))
    worse = compare(ratios(decide(2.3, 0.18), None, None), previous)
    assert len(worse) == 1 and worse[0].startswith(CPU_RATIO) and "+28% worse" in worse[0]
    assert compare(ratios(decide(2.1, 0.18), None, None), previous) == []  # +17 %: within
