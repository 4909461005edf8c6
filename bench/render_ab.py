"""The renderer of two trees on the same requests: same replies, same measured tone, and how fast.

Three steps, each a sub-command, so that each tree's renderer runs in its own process:

    # 1. the requests: every RenderRequest the engine made for the bench's demo stream and the
    #    decision-quality dev suite, plus random ones over every action, channel, language and tone
    PYTHONPATH=src python bench/render_ab.py collect --out /tmp/requests.pkl --decisions 3000
    # 2. each tree renders them all: reply, measured tone, notes, and the renderings per reply
    PYTHONPATH=<tree>/src python bench/render_ab.py replay --requests /tmp/requests.pkl --out <tree>.jsonl
    # 3. the difference: replies must be equal, measured tone within 1e-9
    python bench/render_ab.py diff base.jsonl ours.jsonl
    # the render stage inside the engine (stored and delivered reply, leak check), per tree:
    PYTHONPATH=<tree>/src python bench/render_ab.py decisions --out <tree>-decisions.jsonl
    # or all at once, with interleaved timing of ``renderer.render`` (base, ours, base, ...):
    python bench/render_ab.py ab --base ../rendercpu-base --requests /tmp/requests.pkl --pairs 6

"Renderings per reply" counts the calls of ``compose`` (one template rendered to one dial) per
``render`` call: it is counted by wrapping ``tactful.render.renderer.compose``, as both trees
call it through that name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_VAULT_TOKEN = re.compile(r"<([A-Z][A-Z_]*)_\d{6,}>")


def _demo_and_suite(n: int, suite: Path) -> None:
    """Decide the bench's demo stream (``n`` messages, as ``bench/run.py`` does) and the decision
    suite, on SQLite in a temporary folder."""
    from timing import Clock

    from tactful.config import Settings
    from tactful.demo import bench_message, load_messages, seed
    from tactful.engine import Engine
    from tactful.quality.decisions import evaluate
    from tactful.quality.suite import load_suite

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'ab.db'}")
        engine = Engine.from_settings(settings, clock=Clock(step=timedelta(seconds=7)))
        try:
            tenant_id, _ = seed(engine)
            texts = [m.text for m in load_messages(None)[0]]
            for i in range(n):
                engine.decide(bench_message(tenant_id, texts, i, engine.clock()))
        finally:
            engine.close()
    data_root = Path(os.environ.get("TACTFUL_DATA_DIR", "/work/shared/data"))
    evaluate(load_suite(suite, data_root))


def collect(out: Path, decisions: int, synthetic: int, suite: Path) -> None:
    """Record every request the engine renders (demo stream and dev suite), then add random ones."""
    import tactful.engine as engine_module
    from tactful.render import TemplateRenderer

    requests: list[Any] = []

    class Recording(TemplateRenderer):
        def render(self, req: Any) -> Any:
            requests.append(req)
            return super().render(req)

    engine_module.TemplateRenderer = Recording  # type: ignore[misc]
    _demo_and_suite(decisions, suite)
    requests.extend(random_requests(synthetic, seed=12))
    out.write_bytes(pickle.dumps(requests))
    print(json.dumps({"engine": len(requests) - synthetic, "random": synthetic, "total": len(requests)}))


def random_requests(n: int, seed: int) -> list[Any]:
    """Requests over every action, channel, language, emotion and tone the policy could ask for."""
    from tactful.domain import Action, ActionType, Channel, Signals, ToneProfile
    from tactful.domain.intents import SupportIntent
    from tactful.domain.signals import PiiFinding, SentimentLabel
    from tactful.render import TemplateRenderer
    from tactful.render.request import RenderRequest
    from tactful.render.templates import EMOTIONS

    rng = random.Random(seed)
    renderer = TemplateRenderer()
    languages = renderer.languages
    intents = [str(i) for i in SupportIntent] + ["refund request", "Tenant_Custom_Intent"]
    channels = list(Channel)
    texts = ["", "my invoice is wrong", "I was charged twice", "the app keeps crashing", "where is my order"]
    out: list[Any] = []
    for _ in range(n):
        action = rng.choice([a for a in ActionType if a is not ActionType.NO_CONTACT])
        emotions = {e: round(rng.random(), 3) for e in rng.sample(EMOTIONS[:-1], rng.randint(0, 2))}
        signals = Signals(
            intent=rng.choice(intents),
            sentiment=rng.choice(list(SentimentLabel)),
            emotions=emotions,
            pii=(PiiFinding(kind="email", token="<EMAIL_1>"),) if rng.random() < 0.2 else (),
        )
        tone = ToneProfile(
            **{a: round(rng.random(), rng.choice([1, 2, 4])) for a in ("formality", "warmth", "empathy")},
            brevity=round(rng.random(), 2),
            directness=round(rng.random(), 2),
        )
        out.append(
            RenderRequest(
                action=Action(type=action),
                channel=rng.choice(channels),
                inbound_channel=rng.choice(channels),
                tone=tone,
                signals=signals,
                customer_name_token=rng.choice([None, "<NAME_1>"]),
                max_sms_segments=rng.choice([1, 2, 3]),
                language=rng.choice(languages),
                text=rng.choice(texts),
            )
        )
    return out


def replay(requests_path: Path, out: Path | None, repeat: int) -> dict[str, float]:
    """Render every request (``repeat`` passes, timing the last); write the results of the first."""
    import tactful.render.renderer as renderer_module
    from tactful.render import TemplateRenderer

    requests = pickle.loads(requests_path.read_bytes())
    calls = {"compose": 0, "fit": 0}
    # The base tree composes through ``compose``, this one through ``compose_scene``; both get
    # their fitter through ``fitter_for`` (once per request to check the segment cap, then once
    # per fitting).
    name = "compose_scene" if hasattr(renderer_module, "compose_scene") else "compose"
    inner = {name: getattr(renderer_module, name), "fitter_for": renderer_module.fitter_for}

    def counting(what: str, function: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[what] += 1
            return function(*args, **kwargs)

        return counted

    setattr(renderer_module, name, counting("compose", inner[name]))
    renderer_module.fitter_for = counting("fit", inner["fitter_for"])

    renderer = TemplateRenderer()
    rows: list[str] = []
    per_reply: list[tuple[int, int]] = []
    for req in requests:
        before = dict(calls)
        try:
            rendering = renderer.render(req)
        except Exception as exc:  # a refusal is a result to compare too
            rows.append(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
            continue
        if rendering.measured is not None:  # a no_contact says nothing: no rendering to count
            per_reply.append((calls["compose"] - before["compose"], calls["fit"] - before["fit"] - 1))
        measured = None if rendering.measured is None else rendering.measured.model_dump(mode="json")
        rows.append(
            json.dumps(
                {
                    "reply": rendering.reply.model_dump(mode="json"),
                    "measured": measured,
                    "notes": list(rendering.notes),
                }
            )
        )
    if out is not None:
        out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for function_name, function in inner.items():
        setattr(renderer_module, function_name, function)
    # Timing: fresh renderers (cold caches included in the first pass), the last pass timed per call.
    samples: list[float] = []
    for _ in range(repeat):
        renderer = TemplateRenderer()
        samples = []
        for req in requests:
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):  # refusals are compared above
                renderer.render(req)
            samples.append((time.perf_counter() - t0) * 1000)
    ordered = sorted(samples)
    composed = [c for c, _ in per_reply]
    fitted = [f for _, f in per_reply]
    return {
        "requests": len(requests),
        "renderings_per_reply": statistics.fmean(composed) if composed else 0.0,
        "fittings_per_reply": statistics.fmean(fitted) if fitted else 0.0,
        # one rendering or none (the whole search found in the cache)
        "at_most_one_share": sum(n <= 1 for n in composed) / max(1, len(composed)),
        "p50_ms": ordered[len(ordered) // 2],
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "mean_ms": statistics.fmean(samples),
    }


def _same(x: object, y: object) -> bool:
    """Equal, floats within 1e-9."""
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) <= 1e-9
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y, strict=True))
    return x == y


def diff(base: Path, ours: Path) -> int:
    """Count the rows (replies, notes, measured tone ...) that differ; floats within 1e-9."""
    a = base.read_text(encoding="utf-8").splitlines()
    b = ours.read_text(encoding="utf-8").splitlines()
    if len(a) != len(b):
        print(f"different lengths: {len(a)} vs {len(b)}")
        return 1
    bad = 0
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if not _same(json.loads(x), json.loads(y)):
            bad += 1
            if bad <= 5:
                print(f"row {i} differs:\n  base {x}\n  ours {y}")
    print(json.dumps({"compared": len(a), "different": bad}))
    return 1 if bad else 0


def decisions(out: Path, n: int, suite: Path) -> None:
    """The render stage's output of the engine, decision by decision, on the bench's demo stream
    and the dev suite: the reply stored and delivered, the measured tone, notes and degradations."""
    import tactful.engine as engine_module

    rows: list[str] = []
    inner = engine_module.render_reply

    def recording(*args: Any) -> Any:
        degraded: list[str] = args[-1]
        before = len(degraded)
        rendering, reply, delivered = inner(*args)
        measured = None if rendering.measured is None else rendering.measured.model_dump(mode="json")
        row = {
            "reply": reply.model_dump(mode="json"),
            "delivered": delivered.model_dump(mode="json"),
            "measured": measured,
            "notes": list(rendering.notes),
            "degraded": degraded[before:],
        }
        # The vault's keyed token names are random per tenant, so per run: compare their kind only.
        rows.append(_VAULT_TOKEN.sub(r"<\1_*>", json.dumps(row)))
        return rendering, reply, delivered

    engine_module.render_reply = recording  # type: ignore[assignment]
    _demo_and_suite(n, suite)
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(json.dumps({"decisions": len(rows)}))


def ab(base_tree: Path, requests: Path, pairs: int, repeat: int) -> None:
    """Interleaved runs of ``replay`` in the base tree and in this one; results diffed once."""
    ours_tree = HERE.parent
    results: dict[str, list[dict[str, float]]] = {"base": [], "ours": []}
    with tempfile.TemporaryDirectory() as folder:
        outs = {name: Path(folder) / f"{name}.jsonl" for name in results}
        for i in range(pairs):
            for name, tree in (("base", base_tree), ("ours", ours_tree)):
                cmd = [sys.executable, str(HERE / "render_ab.py"), "replay", "--requests", str(requests)]
                cmd += ["--repeat", str(repeat)]
                if i == 0:
                    cmd += ["--out", str(outs[name])]
                env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}:{HERE}"}
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                results[name].append(json.loads(done.stdout.splitlines()[-1]))
        status = diff(outs["base"], outs["ours"])
    for key in ("p50_ms", "p99_ms", "mean_ms"):
        ratios = [o[key] / b[key] for b, o in zip(results["base"], results["ours"], strict=True)]
        print(
            json.dumps(
                {
                    "figure": key,
                    "base_median": statistics.median(r[key] for r in results["base"]),
                    "ours_median": statistics.median(r[key] for r in results["ours"]),
                    "ratio_median": statistics.median(ratios),
                    "ratio_min": min(ratios),
                    "ratio_max": max(ratios),
                }
            )
        )
    for name in results:
        first = results[name][0]
        print(
            json.dumps(
                {
                    name: {
                        k: first[k]
                        for k in ("renderings_per_reply", "fittings_per_reply", "at_most_one_share")
                    }
                }
            )
        )
    sys.exit(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("collect")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--decisions", type=int, default=3000)
    p.add_argument("--random", type=int, default=5000)
    p.add_argument("--suite", type=Path, default=HERE / "data/decisions/dev.jsonl")
    p = sub.add_parser("replay")
    p.add_argument("--requests", type=Path, required=True)
    p.add_argument("--out", type=Path)
    p.add_argument("--repeat", type=int, default=2)
    p = sub.add_parser("decisions")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--decisions", type=int, default=3000)
    p.add_argument("--suite", type=Path, default=HERE / "data/decisions/dev.jsonl")
    p = sub.add_parser("diff")
    p.add_argument("base", type=Path)
    p.add_argument("ours", type=Path)
    p = sub.add_parser("ab")
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--requests", type=Path, required=True)
    p.add_argument("--pairs", type=int, default=6)
    p.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.out, args.decisions, args.random, args.suite)
    elif args.command == "replay":
        print(json.dumps(replay(args.requests, args.out, args.repeat)))
    elif args.command == "decisions":
        decisions(args.out, args.decisions, args.suite)
    elif args.command == "diff":
        sys.exit(diff(args.base, args.ours))
    else:
        ab(args.base.resolve(), args.requests, args.pairs, args.repeat)


if __name__ == "__main__":
    main()
