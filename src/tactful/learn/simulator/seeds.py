"""Seeds as an axis: the same spec and policy simulated over several seeds, in parallel processes
when asked, summarised per strategy by the mean, the worst seed and a 95 % interval (Student's t
over seeds) — so a figure says how much it depends on luck.

    tactful simulate --population examples/populations/telco.yaml --seeds 1-10 --jobs 2
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tactful.errors import InputRejected
from tactful.learn.simulator.spec import PopulationSpec

#: Student's t, two-sided 95 %, by degrees of freedom (1-30); 1.96 beyond.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
    2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
    2.045, 2.042,
)  # fmt: skip


def parse_seeds(text: str) -> list[int]:
    """``"1-10"``, ``"1,4,7"`` or ``"3"`` (ranges inclusive; at most 1,000 seeds)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            low, dash, high = part.partition("-")
            if dash and low:
                seeds.extend(range(int(low), int(high) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise InputRejected(
            f"--seeds: expected e.g. 1-10 or 1,4,7, got {text!r}", code="invalid_seeds"
        ) from None
    if not seeds or len(seeds) > 1000 or len(set(seeds)) != len(seeds):
        raise InputRejected(f"--seeds: 1 to 1,000 distinct seeds, got {text!r}", code="invalid_seeds")
    return seeds


def summary(values: Sequence[float], *, worst: str = "min") -> dict[str, Any]:
    n = len(values)
    mean = statistics.fmean(values)
    half = 0.0
    if n > 1:
        t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
        half = t * statistics.stdev(values) / math.sqrt(n)
    return {
        "mean": round(mean, 4),
        "worst": round(min(values) if worst == "min" else max(values), 4),
        "low": round(mean - half, 4),
        "high": round(mean + half, 4),
        "per_seed": [round(v, 4) for v in values],
    }


def _one(
    spec: PopulationSpec, policy_file: str | None, decisions: int, seed: int, explorer: str | None
) -> dict[str, Any]:
    from tactful.config import default_policy_file
    from tactful.learn.simulator.run import simulate
    from tactful.policy.loader import load_policy_file

    policy = load_policy_file(policy_file or default_policy_file())
    report, _ = simulate(spec, policy, decisions=decisions, seed=seed, explorer=explorer)
    return report


def simulate_seeds(
    spec: PopulationSpec,
    policy_file: Path | None,
    *,
    decisions: int,
    seeds: Sequence[int],
    jobs: int = 1,
    explorer: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    source = str(policy_file) if policy_file is not None else None
    reports: list[dict[str, Any]] = []
    if jobs <= 1:
        for seed in seeds:
            reports.append(_one(spec, source, decisions, seed, explorer))
            if progress is not None:
                progress(len(reports))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_one, spec, source, decisions, seed, explorer) for seed in seeds]
            for future in futures:
                reports.append(future.result())
                if progress is not None:
                    progress(len(reports))
    return aggregate(reports, time.perf_counter() - started)


def aggregate(reports: Sequence[dict[str, Any]], seconds: float) -> dict[str, Any]:
    first = reports[0]
    names = list(first["strategies"])
    out: dict[str, Any] = {
        "spec": first["spec"],
        "decisions": first["decisions"],
        "seeds": [r["seed"] for r in reports],
        "policy_version": first["policy_version"],
        "explorer": first["explorer"],
        "policy_violations": sum(r["policy_violations"] for r in reports),
        "strategies": {
            name: {
                key: summary([r["strategies"][name][key] for r in reports])
                for key in ("cumulative_reward", "cumulative_expected_reward")
            }
            for name in names
        },
    }
    for key in ("bandit_share_of_oracle", "bandit_gain_over_rules"):
        if all(key in r for r in reports):
            out[key] = summary([r[key] for r in reports])
    if all("drift_recovery" in r for r in reports):
        times = [d["recovered_after"] for r in reports for d in r["drift_recovery"]]
        out["drift_recovery"] = {
            "worst": None if any(t is None for t in times) else max(times),
            "not_recovered": sum(t is None for t in times),
            "per_seed": [[d["recovered_after"] for d in r["drift_recovery"]] for r in reports],
        }
    if all("regret_curve" in r for r in reports):
        out["regret_curves"] = {name: [r["regret_curve"][name] for r in reports] for name in names}
    out["seconds_per_run"] = summary([r["seconds"] for r in reports], worst="max")
    out["seconds"] = round(seconds, 2)
    return out


def plot_bands(report: dict[str, Any], path: Path) -> None:
    """Regret against the oracle: per strategy the mean over seeds and the band from best to worst."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    decisions = int(report["decisions"])
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curves in report.get("regret_curves", {}).items():
        if name == "oracle" or not curves or not curves[0]:
            continue
        points = len(curves[0])
        xs = [decisions * (i + 1) / points for i in range(points)]
        columns = list(zip(*curves, strict=True))
        ax.plot(xs, [statistics.fmean(c) for c in columns], label=f"{name} (mean)")
        ax.fill_between(xs, [min(c) for c in columns], [max(c) for c in columns], alpha=0.25)
    ax.set_xlabel("decisions")
    ax.set_ylabel("cumulative regret vs oracle (expected reward)")
    ax.set_title(f"{report['spec']}: {len(report['seeds'])} seeds, band = best to worst seed")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
