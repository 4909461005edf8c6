"""A/B of a signal tier's ``extract``: an earlier commit against this checkout, in one process.

    PYTHONPATH=src python bench/signals_ab.py --rev f933f88 [--tier fast] [--messages FILE.jsonl]
        [--part heads|guard] [--fresh]
    PYTHONPATH=src python bench/signals_ab.py --rev f933f88 --part decide [--decisions 1000]
    PYTHONPATH=src python bench/signals_ab.py --rev f933f88 --check   # same outputs, no timing

The earlier commit's ``src/tactful`` is exported with ``git archive`` into a temporary folder and
imported as the package ``tactful_ab_old`` (its absolute imports rewritten), so both versions load
their own artifacts and run side by side. Rounds alternate which version goes first; each message
is timed in thread CPU time (the machine is shared: a neighbour's load does not count), and each
figure is the median over rounds of each round's p50 (p99).

Two regimes: warm (message after message, as a loop over a data set runs) and cold (CPU caches
evicted before each message, as the rest of a decision evicts them between two signal stages; see
``bench/signals.py``). Messages: the customer messages the decide benchmark uses
(``tactful.demo.load_messages``) unless ``--messages`` names a JSON-lines file with a ``text`` field.
``--part guard`` times the input guard (``tactful.guard.guard``) on the raw messages instead.

``--part decide`` runs both trees' whole ``Engine.decide`` in this process, each on its own SQLite
file (bench/run.py's settings: full durability, the relay on its thread), and alternates them
decision by decision (ABBA), so both see the same machine load and each evicts the other's CPU
caches as a decision's other stages do. It reports this thread's CPU per decision for all of
decide and for the guard and signals stages (the engine's ``_guard`` and ``_signals`` in earlier
trees, ``guard_message`` and ``read_signals`` since the wiring split), after 300 warm-up decisions
each.

``--check`` times nothing: it runs both versions' guard and tier over the bench messages, the
decision suites (``bench/data/decisions``) and, when ``TACTFUL_DATA_DIR`` (or ``/work/shared/data``)
holds them, validation texts of the shared data sets (multilingual, injections, emotions), and
reports every difference: guarded text, PII, injection markers and score, each ``Signals`` field,
and the largest difference of the raw head scores (a speed change must keep them to 1e-9).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from signals import _Evictor  # bench/ is on sys.path when run as a script

OLD = "tactful_ab_old"


def export(rev: str, into: Path) -> None:
    """``src/tactful`` at ``rev`` as the package ``OLD`` under ``into``."""
    archive = subprocess.run(["git", "archive", rev, "src/tactful"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / OLD
    (into / "src" / "tactful").rename(package)
    pattern = re.compile(r"\btactful(?=[.\s])")
    for path in package.rglob("*.py"):
        path.write_text(pattern.sub(OLD, path.read_text(encoding="utf-8")), encoding="utf-8")


def rounds(
    extract: dict[str, Callable[[str], object]], texts: list[str], evict: _Evictor | None, n: int
) -> dict[str, tuple[float, float]]:
    """Per version: the median over rounds of each round's (p50, p99)."""
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in extract}
    for i in range(n):
        for name in sorted(extract, reverse=bool(i % 2)):
            took = []
            for text in texts:
                if evict is not None:
                    evict()
                start = time.thread_time_ns()
                extract[name](text)
                took.append((time.thread_time_ns() - start) / 1e3)
            found[name].append((float(np.percentile(took, 50)), float(np.percentile(took, 99))))
    return {name: tuple(np.median(values, axis=0).tolist()) for name, values in found.items()}  # type: ignore[misc]


def first_pass(modules: dict[str, Any], texts: list[str], n: int = 3) -> dict[str, float]:
    """Mean thread CPU per message through a fast tier built anew (its token caches empty), the
    median over ``n`` rounds that alternate which version goes first: what unseen words cost."""
    means: dict[str, list[float]] = {name: [] for name in modules}
    for i in range(n):
        for name in sorted(modules, reverse=bool(i % 2)):
            tier = modules[name].fast_tier()
            start = time.thread_time_ns()
            for text in texts:
                tier.extract(text)
            means[name].append((time.thread_time_ns() - start) / 1e3 / len(texts))
    return {name: float(np.median(values)) for name, values in means.items()}


def check_texts(extra: list[str]) -> list[str]:
    """The texts ``--check`` compares the versions on (see the module docstring)."""
    import csv
    import os

    from tactful.demo import load_messages
    from tactful.quality.suite import load_suite

    texts = [m.text for m in load_messages(None)[0]] + extra
    root = Path(os.environ.get("TACTFUL_DATA_DIR", "/work/shared/data"))
    for path in sorted(Path(__file__).parent.joinpath("data", "decisions").glob("*.jsonl")):
        texts += [case.text for case in load_suite(path, root)]
    for name in (
        "umsab-multilingual-sentiment/val.csv",
        "deepset-prompt-injections/train.csv",
        "tweeteval-emotion/val.csv",
        "tweeteval-sentiment/val.csv",
        "clinc150/val.csv",
    ):
        if (root / name).is_file():
            with (root / name).open(encoding="utf-8", newline="") as handle:
                texts += [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    return texts


def check(old: Any, new: Any, tier: str, texts: list[str]) -> int:
    """Every difference between the versions' guard and ``tier`` outputs; returns how many."""
    from tactful.errors import InputRejected

    tiers = (old.signals.tiers.load_tier(tier), new.signals.tiers.load_tier(tier))
    differences, worst, compared = 0, 0.0, 0
    for text in texts:
        try:
            guarded = [m.guard.guard(text) for m in (old, new)]
        except Exception as exc:  # both must refuse alike
            if not isinstance(exc, InputRejected) and type(exc).__name__ != "InputRejected":
                raise
            continue
        a, b = guarded
        same = (a.text, a.injection, a.injection_markers, dict(a.vault)) == (
            b.text,
            b.injection,
            b.injection_markers,
            dict(b.vault),
        ) and [p.model_dump() for p in a.pii] == [p.model_dump() for p in b.pii]
        if not same:
            differences += 1
            print(f"guard differs on {text[:80]!r}: {a!r} vs {b!r}")
        compared += 1
        # what each tree's models read (``model_text`` since the guard numbers tokens per message)
        found = [
            t.extract(getattr(g, "model_text", g.text)).model_dump(mode="json")
            for t, g in zip(tiers, guarded, strict=True)
        ]
        if found[0] != found[1]:
            differences += 1
            fields = sorted(k for k in found[0] if found[0][k] != found[1][k])
            print(
                f"signals differ on {a.text[:80]!r}: "
                + ", ".join(f"{k} {found[0][k]!r} vs {found[1][k]!r}" for k in fields)
            )
        if hasattr(tiers[0], "scores"):
            z = [
                np.asarray(t.scores([getattr(g, "model_text", g.text)]), dtype=np.float64)
                for t, g in zip(tiers, guarded, strict=True)
            ]
            worst = max(worst, float(np.max(np.abs(z[0] - z[1]))))
    print(f"{compared} texts compared, {differences} differ; raw head scores: max |B − A| {worst:.3g}")
    return differences + (worst > 1e-9)


def decide_ab(rev: str, n: int) -> None:
    """``--part decide``: both trees' decisions alternated in this process (see the docstring)."""
    import collections

    from run import Clock, demo_message

    spent: collections.Counter[tuple[str, str]] = collections.Counter()
    engines: dict[str, tuple[Any, Any, list[str], Any]] = {}
    for tag, package in (("A " + rev, OLD), ("B this checkout", "tactful")):
        settings = importlib.import_module(f"{package}.config").Settings
        demo = importlib.import_module(f"{package}.demo")
        engine = importlib.import_module(f"{package}.engine").Engine.from_settings(
            settings(database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'ab.db'}"),
            clock=Clock(),
            background_relay=True,
        )
        # The stages: the engine's methods in earlier trees, its module's step functions (looked up
        # at each call) since the wiring split.
        module = importlib.import_module(f"{package}.engine")
        for part, method, step in (
            ("_signals", "_signals", "read_signals"),
            ("_guard", "_guard", "guard_message"),
        ):
            owner, name = (engine, method) if hasattr(engine, method) else (module, step)
            inner = getattr(owner, name)

            def timed(*a: Any, _inner: Any = inner, _key: tuple[str, str] = (tag, part), **k: Any) -> Any:
                c0 = time.thread_time()
                try:
                    return _inner(*a, **k)
                finally:
                    spent[_key] += time.thread_time() - c0

            setattr(owner, name, timed)
        tenant, _ = demo.seed(engine)
        texts = [m.text for m in demo.load_messages(None)[0]]
        engines[tag] = (engine, tenant, texts, importlib.import_module(f"{package}.domain").InboundMessage)

    def decide(tag: str, i: int) -> None:
        engine, tenant, texts, inbound = engines[tag]
        engine.decide(inbound(**demo_message(tenant, texts, i, engine.clock.now).model_dump()))

    try:
        for i in range(300):  # warm-up, as bench/run.py
            for tag in engines:
                decide(tag, 10_000_000 + i)
        spent.clear()
        for i in range(n):
            for tag in sorted(engines, reverse=bool(i % 2)):
                c0 = time.thread_time()
                decide(tag, i)
                spent[(tag, "decide")] += time.thread_time() - c0
    finally:
        for engine, *_ in engines.values():
            engine.close()
    (a, b) = sorted(engines)
    print(f"{n} decisions each, alternated; this thread's CPU per decision")
    for part in ("decide", "_signals", "_guard"):
        old, new = spent[(a, part)] * 1000 / n, spent[(b, part)] * 1000 / n
        print(f"{part:9s} A {old:.3f} ms, B {new:.3f} ms, B/A {new / old:.3f}")


def _heads_of(tier: Any) -> Callable[[str], object]:
    """The model part of a ``ModelTier`` alone: no lexical cues, no ``Signals``."""
    return lambda text: tier.heads.outputs(tier.scores([text]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", required=True, help="the earlier commit (B is this checkout)")
    parser.add_argument("--tier", default="fast")
    parser.add_argument("--messages", type=Path, default=None)
    parser.add_argument(
        "--part",
        choices=("extract", "heads", "guard", "decide"),
        default="extract",
        help="heads: only featurise + every head's scores and outputs (ModelTier.scores, HeadSet.outputs);"
        " guard: the input guard on the raw messages",
    )
    parser.add_argument("--check", action="store_true", help="compare outputs, time nothing")
    parser.add_argument("--decisions", type=int, default=1000, help="--part decide: decisions per tree")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="also time a first pass through a new fast tier (every token unseen), A and B alternating",
    )
    args = parser.parse_args()
    if args.messages:
        texts = [json.loads(line)["text"] for line in args.messages.read_text(encoding="utf-8").splitlines()]
    else:
        from tactful.demo import load_messages

        texts = [m.text for m in load_messages(None)[0]]
    with tempfile.TemporaryDirectory() as folder:
        export(args.rev, Path(folder))
        sys.path.insert(0, folder)
        if args.check:
            old, new = (importlib.import_module(name) for name in (OLD, "tactful"))
            for name in ("guard", "signals.tiers", "errors"):
                importlib.import_module(f"{OLD}.{name}")
                importlib.import_module(f"tactful.{name}")
            raise SystemExit(
                1 if check(old, new, args.tier, check_texts(texts if args.messages else [])) else 0
            )
        if args.part == "decide":
            decide_ab(args.rev, args.decisions)
            return
        tiers = {
            "A " + args.rev: importlib.import_module(f"{OLD}.signals.tiers").load_tier(args.tier),
            "B this checkout": importlib.import_module("tactful.signals.tiers").load_tier(args.tier),
        }
        if args.part == "heads":
            extract = {name: _heads_of(tier) for name, tier in tiers.items()}
        elif args.part == "guard":
            extract = {
                "A " + args.rev: importlib.import_module(f"{OLD}.guard").guard,
                "B this checkout": importlib.import_module("tactful.guard").guard,
            }
        else:
            extract = {name: tier.extract for name, tier in tiers.items()}
        for text in texts:  # warm-up: caches of both
            for run in extract.values():
                run(text)
        warm = rounds(extract, texts, None, 7)
        cold = rounds(extract, texts[:300], _Evictor(), 2)
        modules = {
            "A " + args.rev: importlib.import_module(f"{OLD}.signals.tiers"),
            "B this checkout": importlib.import_module("tactful.signals.tiers"),
        }
        fresh = first_pass(modules, texts) if args.fresh else None
    (a, b) = sorted(extract)
    cold_n = min(300, len(texts))
    print(f"tier {args.tier} ({args.part}), {len(texts)} messages (cold: the first {cold_n}), thread CPU")
    for label, found in (("warm", warm), ("cold", cold)):
        for i, name in enumerate(("p50", "p99")):
            old, new = found[a][i], found[b][i]
            print(f"{label} {name}: A {old:.0f} µs, B {new:.0f} µs, B/A {new / old:.2f}")
    if fresh is not None:
        print(f"first pass, mean: A {fresh[a]:.0f} µs, B {fresh[b]:.0f} µs, B/A {fresh[b] / fresh[a]:.2f}")


if __name__ == "__main__":
    main()
