"""``make bench`` fails loudly on a regression: every figure is kept as a ratio to a baseline
measured in the same run (the machine is shared, so absolute times move with its load), written to
``docs/performance.json``, and compared with the committed previous run. A figure more than 20 %
worse than before is printed and the run exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: A figure this much worse than the previous run's is a regression.
TOLERANCE = 0.20


def ratios(
    decide: dict[str, Any],
    postgres: dict[str, Any] | None,
    http_: dict[str, Any] | None,
    scale: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """figure → (value, "lower" | "higher" is better)."""
    # No "decide p50 / bare commit p50": the decision's p50 is CPU (its CPU p50 is ~90 % of its
    # wall p50) and the commit's is the disk, so the ratio moved 17 → 45 → 36 in three runs of
    # 2026-12-05 with no change in the code (a CPU unit 0.25 → 0.29 → 0.59 ms, a commit p50
    # 0.16 → 0.06 → 0.10 ms). The p50 is gated by its CPU against the CPU unit, below.
    found: dict[str, Any] = {
        "sqlite decide p99 / bare durable commit p99": (
            decide["p99_ms"] / decide["baseline_p99_ms"],
            "lower",
        ),
        "sqlite decide p99 (net tier only) / bare durable commit p99": (
            decide["net_p99_ms"] / decide["baseline_p99_ms"],
            "lower",
        ),
    }
    if decide.get("cpu_unit_ms"):
        # CPU against CPU: the bare commit is fsync-bound and moves with the disk, not the code.
        found["sqlite decide CPU p50 / CPU unit (timing.cpu_unit_ms)"] = (
            decide["cpu_p50_ms"] / decide["cpu_unit_ms"],
            "lower",
        )
        if postgres:
            found["postgres decide CPU p50 / CPU unit (timing.cpu_unit_ms)"] = (
                postgres["cpu_p50_ms"] / decide["cpu_unit_ms"],
                "lower",
            )
    if postgres:
        found["postgres decide p99 / insert+commit p99"] = (
            postgres["p99_ms"] / postgres["baseline_p99_ms"],
            "lower",
        )
        if postgres.get("round_trips") is not None:
            found["postgres round trips per decision"] = (postgres["round_trips"], "lower")
    if http_:
        # wrk since issue 12 (a new name: the threaded Python client's figures do not compare).
        found["http POST /v1/messages / GET /healthz (wrk)"] = (http_["ratio"], "higher")
        found["http healthz CPU per request / POST CPU per request"] = (
            sum(http_["trivial"]["server_cpu_s"]) / http_["trivial"]["requests"]
            / (sum(http_["decide"]["server_cpu_s"]) / http_["decide"]["requests"]),
            "higher",
        )  # fmt: skip
        found["http decisions/s / in-process decisions/s"] = (
            http_["decide"]["per_s"] / decide["per_s"],
            "higher",
        )
    if scale:
        found["postgres POST /v1/messages, 2 API processes / 1 (wrk)"] = (scale["ratio"], "higher")
    return found


def compare(current: dict[str, Any], previous_file: Path) -> list[str]:
    """What got worse by more than ``TOLERANCE`` against the previous run's figures."""
    if not previous_file.exists():
        return []
    previous = json.loads(previous_file.read_text())
    worse = []
    for name, (value, better) in current.items():
        if name not in previous:
            continue
        before = float(previous[name][0])
        if before <= 0:
            continue
        change = (value - before) / before if better == "lower" else (before - value) / before
        if change > TOLERANCE:
            worse.append(f"{name}: {before:.3f} → {value:.3f} ({change:+.0%} worse)")
    return worse
