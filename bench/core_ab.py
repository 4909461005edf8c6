"""Interleaved A/B of ``bench/run.py --only-core`` between two trees: base, ours, base, ours ...

    python bench/core_ab.py --base ../rendercpu-base --pairs 6 [--decisions 3000]

Each run is a fresh process on its own tree (``PYTHONPATH=<tree>/src``). Printed per figure: the
median of each side, and the median, minimum and maximum of the per-pair ratios (ours / base).
The machine is shared: read the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIGURES = (
    ("cpu_p50_ms",),
    ("p50_ms",),
    ("p99_ms",),
    ("net_p99_ms",),  # the decisions the fast net answered alone (a richer tier's wait is reported apart)
    ("process_cpu_ms",),  # all threads per decision: the relay's and the tier workers' too
    ("stages_p50", "render"),
    ("stages_p99", "render"),
)


def run(tree: Path, decisions: int) -> dict[str, Any]:
    cmd = [sys.executable, str(tree / "bench/run.py"), "--no-http", "--only-core", "--no-postgres"]
    cmd += ["--decisions", str(decisions)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    # run.py exits 1 when it finds a regression against the committed figures; its figures are
    # printed all the same, and they are what is compared here.
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    try:
        first, _ = json.JSONDecoder().raw_decode(done.stdout)  # the decide figures come first
    except json.JSONDecodeError as exc:
        raise SystemExit(f"bench/run.py in {tree} printed no figures:\n{done.stderr[-2000:]}") from exc
    return first  # type: ignore[no-any-return]


def figure(result: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = result
    for key in path:
        value = value[key]
    return float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--ours", type=Path, default=HERE.parent)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--decisions", type=int, default=3000)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "ours": []}
    for i in range(args.pairs):
        # Alternate which side goes first, so a drift in the machine's load favours neither.
        order = (("base", args.base), ("ours", args.ours))
        for name, tree in order if i % 2 == 0 else reversed(order):
            runs[name].append(run(tree.resolve(), args.decisions))
        print(json.dumps({"pair": i, **{n: figure(r[-1], ("cpu_p50_ms",)) for n, r in runs.items()}}))
    for path in FIGURES:
        base = [figure(r, path) for r in runs["base"]]
        ours = [figure(r, path) for r in runs["ours"]]
        ratios = [o / b for b, o in zip(base, ours, strict=True)]
        print(
            json.dumps(
                {
                    "figure": ".".join(path),
                    "base_median": round(statistics.median(base), 4),
                    "ours_median": round(statistics.median(ours), 4),
                    "ratio_median": round(statistics.median(ratios), 3),
                    "ratio_min": round(min(ratios), 3),
                    "ratio_max": round(max(ratios), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
