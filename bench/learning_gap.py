"""Where the bandit's gap to the planning oracle comes from, decision by decision (issue 16).

For each decision the simulator's ``_decide`` is wrapped (nothing in the simulator changes), and the
gap ``v_oracle − v_bandit`` (true expected rewards) is split into three parts that add up:

* ``choice``: the best arm's value in the bandit's own state (its proactive count) minus what it
  played — model error (its greedy arm is not the best) plus exploration (it played off its greedy
  arm);
* ``state``: the best value at the oracle's proactive count minus the best at the bandit's — what
  earlier proactive contacts (fatigue) cost the bandit here;
* ``plan``: the oracle's value minus the best at its count (≤ 0: what the oracle gives up now for
  later).

Printed per tenth of the run, and over the whole run with the share of decisions that follow a
proactive contact and that initiate one, for the bandit and the oracle. ``within``: the loss inside
the kind of move the bandit made (which channel or style, among arms that stay or among those that
move); ``b_stay_o_pc`` / ``b_pc_o_stay``: decisions where one stayed and the other moved.

``--charges 0,0.4,0.8``: instead, the per-contact argmax of the *true* expected reward with each flat
charge on proactive arms, as a share of the oracle — what a learner with perfect values and a flat
charge could reach (the oracle also knows when each customer writes next).

    PYTHONPATH=src:. python bench/learning_gap.py random-1008 --seed 1 --decisions 20000
    PYTHONPATH=src:. python bench/learning_gap.py random-1008 --charges 0,0.2,0.4,0.6,0.8,1,1.5
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any

from tactful.learn.simulator import run as sim
from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.spec import load_spec


def _spec(name: str) -> Any:
    if name.startswith("random-"):
        return random_spec(int(name.split("-")[1]))
    from bench.learning_matrix import ROOT

    return load_spec(ROOT / "examples" / "populations" / f"{name}.yaml")


def diagnose(name: str, seed: int, decisions: int) -> dict[str, Any]:
    from tactful.config import default_policy_file
    from tactful.policy.loader import load_policy_file

    rows: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    original = sim._decide

    def traced(track: str, value: Any, arms: Any, *args: Any, **kw: Any) -> Any:
        arm, p, final, pending = original(track, value, arms, *args, **kw)
        contact, count = value.__defaults__[0], value.__defaults__[1]
        if track in ("bandit", "oracle"):
            kinds = [sim.moved_to(args[4], a.channel, contact.inbound).proactive for a in arms]
            stay = [value(a) for a, k in zip(arms, kinds, strict=True) if not k]
            away = [value(a) for a, k in zip(arms, kinds, strict=True) if k]
            rows[track][contact.index] = {
                "count": count,
                "v": value(arm),
                "best": max(value(a) for a in arms),
                "best_stay": max(stay) if stay else None,
                "best_pc": max(away) if away else None,
                "proactive": bool(final.proactive),
                "greedy_v": value(arms[pending.greedy]) if pending is not None else None,
                "greedy": pending is not None and pending.chosen == pending.greedy,
                "rules": arm == arms[0],
            }
        return arm, p, final, pending

    sim._decide = traced
    try:
        report, _ = sim.simulate(
            _spec(name), load_policy_file(default_policy_file()), decisions=decisions, seed=seed
        )
    finally:
        sim._decide = original
    b, o = rows["bandit"], rows["oracle"]
    tenths: list[dict[str, float]] = []
    size = decisions // 10
    for t in range(10):
        part = defaultdict(float)
        for i in range(t * size, (t + 1) * size):
            if i not in b or i not in o:
                continue
            rb, ro = b[i], o[i]
            part["oracle"] += ro["v"]
            part["bandit"] += rb["v"]
            part["choice"] += rb["best"] - rb["v"]
            part["model"] += rb["best"] - rb["greedy_v"]
            part["explore"] += rb["greedy_v"] - rb["v"]
            part["state"] += ro["best"] - rb["best"]
            part["plan"] += ro["v"] - ro["best"]
            part["b_after_pc"] += rb["count"] > 0
            part["o_after_pc"] += ro["count"] > 0
            part["b_pc"] += rb["proactive"]
            part["o_pc"] += ro["proactive"]
            part["b_explored"] += not rb["greedy"]
            # The loss inside the kind of move it made (stay or proactive): which channel/style.
            same = rb["best_pc"] if rb["proactive"] else rb["best_stay"]
            part["within"] += (same if same is not None else rb["v"]) - rb["v"]
            # A stay where the oracle moved (and the reverse), at the bandit's own count.
            part["b_stay_o_pc"] += (not rb["proactive"]) and ro["proactive"]
            part["b_pc_o_stay"] += rb["proactive"] and not ro["proactive"]
            part["n"] += 1
        tenths.append({k: round(v, 1) for k, v in part.items()})
    total = {k: round(sum(t.get(k, 0.0) for t in tenths), 1) for k in tenths[0]}
    # Where the bandit's proactive contacts go: what the same contact was worth without moving.
    pc_gain = [
        rb["v"] - rb["best_stay"] for rb in b.values() if rb["proactive"] and rb["best_stay"] is not None
    ]
    total["b_pc_mean_immediate_gain"] = round(sum(pc_gain) / max(len(pc_gain), 1), 3)
    opc = [ro["v"] - ro["best_stay"] for ro in o.values() if ro["proactive"] and ro["best_stay"] is not None]
    total["o_pc_mean_immediate_gain"] = round(sum(opc) / max(len(opc), 1), 3)
    return {
        "spec": name,
        "seed": seed,
        "share": report.get("bandit_share_of_oracle"),
        "exploration": report.get("bandit_exploration"),
        "total": total,
        "tenths": tenths,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--decisions", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--charges", default="", help="comma-separated flat charges (see above)")
    a = parser.parse_args()
    if a.charges:
        charges = [float(c) for c in a.charges.split(",")]
        print(a.spec, json.dumps(charged_greedy(a.spec, a.seed, a.decisions, charges)))
        return
    found = diagnose(a.spec, a.seed, a.decisions)
    if a.json:
        print(json.dumps(found))
        return
    print(f"{found['spec']} seed {found['seed']}: bandit/oracle {found['share']}")
    print(json.dumps(found["exploration"]))
    keys = ["n", "oracle", "bandit", "choice", "model", "explore", "state", "plan", "within", "b_after_pc",
            "o_after_pc", "b_pc", "o_pc", "b_explored", "b_stay_o_pc", "b_pc_o_stay"]  # fmt: skip
    print("tenth " + " ".join(f"{k:>10}" for k in keys))
    for t, part in enumerate(found["tenths"]):
        print(f"{t:>5} " + " ".join(f"{part.get(k, 0):>10}" for k in keys))
    print("total " + " ".join(f"{found['total'].get(k, 0):>10}" for k in keys))
    print({k: v for k, v in found["total"].items() if k not in keys})


if __name__ == "__main__":
    main()


def charged_greedy(name: str, seed: int, decisions: int, charges: list[float]) -> dict[float, float]:
    """The per-contact argmax of the TRUE expected reward with a flat charge on proactive arms, as a
    share of the planning oracle: the best a causal learner with perfect values and a flat charge can
    reach (the oracle also knows when each customer writes next)."""
    from tactful.config import default_policy_file
    from tactful.policy.loader import load_policy_file

    original = sim._decide
    found: dict[float, float] = {}
    for charge in charges:

        def traced(track: str, value: Any, arms: Any, *args: Any, charge: float = charge, **kw: Any) -> Any:
            if track != "greedy":
                return original(track, value, arms, *args, **kw)
            result, contact = args[4], value.__defaults__[0]
            moved = {a: sim.moved_to(result, a.channel, contact.inbound) for a in arms}
            best = max(arms, key=lambda a: value(a) - (charge if moved[a].proactive else 0.0))
            return best, 1.0, moved[best], None

        sim._decide = traced
        try:
            report, _ = sim.simulate(
                _spec(name), load_policy_file(default_policy_file()), decisions=decisions, seed=seed,
                strategies=("oracle", "greedy"),
            )  # fmt: skip
        finally:
            sim._decide = original
        got = report["strategies"]
        ratio = got["greedy"]["cumulative_expected_reward"] / got["oracle"]["cumulative_expected_reward"]
        found[charge] = round(ratio, 4)
    return found
