"""The learner's live overhead of an older commit against this tree, A/B in one process.

``live_engine`` (bench/learning.py) of both, alternated round by round (old, new, new, old, ...) so
that both see the same machine load; prints each run and the medians, with the same-run baseline
(the decision's CPU with the learner off) beside each. The old commit's ``src/tactful`` and
``bench`` are exported under the package names ``tactful_old`` / ``bench_old`` (imports renamed);
files git does not track (trained model weights) are taken from this tree.

    python bench/learning_ab.py OLD_COMMIT [--decisions 800] [--rounds 4]
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_RENAMES = (
    (re.compile(r"\btactful\."), "tactful_old."),
    (re.compile(r"\bfrom tactful import\b"), "from tactful_old import"),
    (re.compile(r"\bfrom bench(\.| import)"), r"from bench_old\1"),
)


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True).stdout


def export(commit: str, into: Path) -> None:
    """``tactful_old`` and ``bench_old`` of ``commit`` under ``into``."""
    package = into / "tactful_old"
    shutil.copytree(ROOT / "src/tactful", package, ignore=shutil.ignore_patterns("__pycache__"))
    (into / "bench_old").mkdir()
    for path in _git("ls-tree", "-r", "--name-only", commit, "src/tactful", "bench").decode().splitlines():
        target = package / path.removeprefix("src/tactful/") if path.startswith("src/") else None
        if target is None:
            if not path.endswith(".py"):
                continue
            target = into / "bench_old" / path.removeprefix("bench/")
        target.parent.mkdir(parents=True, exist_ok=True)
        body = _git("show", f"{commit}:{path}")
        if path.endswith(".py"):
            text = body.decode()
            for pattern, replacement in _RENAMES:
                text = pattern.sub(replacement, text)
            body = text.encode()
        target.write_bytes(body)


def _row(out: dict[str, Any]) -> dict[str, float]:
    live, off = out["live"], out["off"]
    return {
        "learner_p50": live["learner_cpu_ms"][0],
        "learner_p99": live["learner_cpu_ms"][1],
        "choose_p50": live["learner_cpu_ms_by_call"]["choose"][0],
        "choose_p99": live["learner_cpu_ms_by_call"]["choose"][1],
        "baseline_decide_off_p50": off["decide_cpu_ms"][0],
        "baseline_decide_off_p99": off["decide_cpu_ms"][1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("--decisions", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export(args.old, Path(tmp))
        sys.path[:0] = [tmp, str(ROOT / "src"), str(ROOT)]
        old, new = importlib.import_module("bench_old.learning"), importlib.import_module("bench.learning")
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for r in range(args.rounds):
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                row = _row((old if name == "old" else new).live_engine(args.decisions))
                runs[name].append(row)
                print(name, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    medians = {n: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for n, rows in runs.items()}
    for name, figures in medians.items():
        share = figures["learner_p50"] / figures["baseline_decide_off_p50"]
        rounded = json.dumps({k: round(v, 4) for k, v in figures.items()})
        print(f"median {name}", rounded, f"learner p50 / baseline p50 {share:.3f}")
    print("new/old", json.dumps({k: round(medians["new"][k] / medians["old"][k], 3) for k in medians["new"]}))


if __name__ == "__main__":
    main()
