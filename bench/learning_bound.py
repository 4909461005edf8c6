"""How far any learner with the bandit's features could get: the oracle's advantage by what it needs
to see, and an upper-ish bound that charges only the reward window.

For each contact the true expected reward of every allowed arm is computed (the simulator's world,
the shipped default policy, no fatigue: proactive count 0). Then:

* **by feature set**: the best fixed arm per group in hindsight, for groups of contacts that look
  alike to a learner seeing only some features (none; the true segment; the bandit's context key;
  the context key and the local 3-hour bucket or the local hour; every feature), as a share of the oracle;
* **bound**: a learner that knows nothing until the first reward window closes (playing the rules'
  arm, or uniformly at random), then plays the hindsight-best arm per (context key, hour bucket) of
  the current drift phase; after a drift it plays the old phase's choice for one more window (its
  rewards are still in flight). No exploration and no estimation error are charged, so no learner
  with these features and this window can expect more.

    nice python bench/learning_bound.py examples/populations/bank.yaml --decisions 20000 --seed 1
    nice python bench/learning_bound.py gen:1000 --decisions 20000   # random_spec(1000)
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Callable, Hashable

from tactful.config import default_policy_file
from tactful.learn.arms import allowed_arms
from tactful.learn.drift import context_key
from tactful.learn.features import context_features
from tactful.learn.simulator.generate import random_spec
from tactful.learn.simulator.spec import PopulationSpec, load_spec
from tactful.learn.simulator.tone import RealisedTone
from tactful.learn.simulator.world import Contact, World
from tactful.policy.loader import load_policy_file

Row = tuple[Contact, dict[str, str], dict[str, float], int]


def _spec(name: str) -> PopulationSpec:
    return random_spec(int(name[4:])) if name.startswith("gen:") else load_spec(name)


def rows_of(spec: PopulationSpec, decisions: int, seed: int) -> tuple[list[Row | None], int, list[int]]:
    policy = load_policy_file(default_policy_file())
    cfg = policy.document.learning
    world = World(spec, cfg.reward, decisions, seed)
    tone = RealisedTone(policy)
    starts = sorted({math.ceil(d.at * decisions) for d in spec.drift})
    rows: list[Row | None] = []
    for contact in world.contacts:
        inp = world.policy_input(contact, 0)
        result = policy.evaluate(inp)
        arms = allowed_arms(result, cfg.styles, learn_channel=cfg.learn_channel)
        if not arms:
            rows.append(None)
            continue
        realised = tone.of(contact, inp, result, cfg.styles)
        values = {a.key: world.expected_reward(contact, a, 0, realised) for a in arms}
        phase = sum(1 for s in starts if s <= contact.index)
        rows.append((contact, context_features(inp), values, phase))
    window = math.ceil(decisions / spec.days)  # decisions per 24 h reward window
    return rows, window, starts


def share_by(rows: list[Row | None], key: Callable[[Contact, dict[str, str]], Hashable]) -> float:
    totals: dict[Hashable, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        if row is not None:
            for arm, v in row[2].items():
                totals[(key(row[0], row[1]), row[3])][arm] += v
    got = oracle = 0.0
    for row in rows:
        if row is not None:
            group = totals[(key(row[0], row[1]), row[3])]
            got += row[2][max(row[2], key=lambda a: group[a])]
            oracle += max(row[2].values())
    return got / oracle


def bound(rows: list[Row | None], window: int, starts: list[int], *, uniform: bool) -> float:
    totals: dict[Hashable, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        if row is not None:
            for arm, v in row[2].items():
                totals[(context_key(row[1]), row[1]["hr"], row[3])][arm] += v
    got = oracle = 0.0
    for i, row in enumerate(rows):
        if row is None:
            continue
        _, features, values, phase = row
        oracle += max(values.values())
        if i < window:
            got += sum(values.values()) / len(values) if uniform else next(iter(values.values()))
            continue
        last = max([0, *(s for s in starts if s <= i)])
        known = phase - 1 if phase > 0 and i < last + window else phase
        group = totals[(context_key(features), features["hr"], known)]
        got += values[max(values, key=lambda a: group[a])]
    return got / oracle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="a spec file, or gen:N for random_spec(N)")
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    spec = _spec(args.spec)
    rows, window, starts = rows_of(spec, args.decisions, args.seed)
    groups: dict[str, Callable[[Contact, dict[str, str]], Hashable]] = {
        "nothing (one arm for all)": lambda c, f: "",
        "the true segment": lambda c, f: c.customer.segment,
        "context key": lambda c, f: context_key(f),
        "context key + hour bucket": lambda c, f: (context_key(f), f["hr"]),
        "context key + local hour": lambda c, f: (context_key(f), c.local_hour),
        "every feature": lambda c, f: tuple(sorted(f.items())),
    }
    print(f"{spec.name}: {args.decisions} decisions, seed {args.seed}, reward window {window} decisions")
    for label, key in groups.items():
        print(f"  best arm per group, grouped by {label:28s} {share_by(rows, key):.3f} of the oracle")
    for label, uniform in (("the rules' arm", False), ("uniformly random", True)):
        value = bound(rows, window, starts, uniform=uniform)
        print(f"  bound, playing {label} until the first window closes: {value:.3f}")


if __name__ == "__main__":
    main()
