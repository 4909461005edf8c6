"""Which CEL library evaluates Tactful's policy conditions: measured, not guessed.

Times each candidate on conditions taken from the default policy, against the same activation, in
one process; and checks the behaviour that matters for policy safety — what happens when a
condition reads a key that is missing (it must be an error we can see, never a silent match).

    python bench/cel_libraries.py          (cel-expr-python is measured when installed)
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

CONDITIONS = [
    "signals.valence <= -0.5 && signals.anger >= 0.5",
    'customer.tier == "vip" && signals.valence <= -0.5 && signals.anger >= 0.5',
    '"hearing_impaired" in features.accessibility_needs',
    'decision.channel == "voice"',
    "signals.urgency >= 0.7 && signals.valence <= -0.3",
]
MISSING_KEY = "signals.no_such_field > 0.5"
ACTIVATION: dict[str, Any] = {
    "signals": {"valence": -0.7, "anger": 0.8, "urgency": 0.2, "frustration": 0.6, "intent": "billing"},
    "customer": {"tier": "vip", "tenure_days": 400, "accessibility_needs": []},
    "features": {"accessibility_needs": ["hearing_impaired"], "proactive_contacts_24h": 1},
    "decision": {"channel": "voice", "inbound_channel": "chat", "proactive": False, "action": ""},
}


def time_per_eval(run: Callable[[], object], n: int = 20_000) -> float:
    for _ in range(500):
        run()
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n // 5):
            run()
        samples.append((time.perf_counter() - t0) / (n // 5) * 1e6)
    return statistics.median(samples)


def common_expression_language() -> dict[str, Any]:
    import cel

    programs = [cel.compile(c) for c in CONDITIONS]
    ctx = cel.Context(ACTIVATION)

    def run_all() -> None:
        for p in programs:
            p.execute(ctx)

    try:
        cel.compile(MISSING_KEY).execute(ctx)
        missing = "returned a value (unsafe)"
    except Exception as exc:  # the library raises: a visible error
        missing = f"raises {type(exc).__name__}"
    return {"us_per_condition": time_per_eval(run_all) / len(CONDITIONS), "missing_key": missing}


def cel_expr_python() -> dict[str, Any]:
    from cel_expr_python import cel  # type: ignore[import-not-found]

    env = cel.NewEnv(variables={name: cel.Type.DYN for name in ACTIVATION})
    programs = [env.compile(c) for c in CONDITIONS]

    def run_all() -> None:
        activation = env.Activation(ACTIVATION)
        for p in programs:
            p.eval(activation)

    value = env.compile(MISSING_KEY).eval(data=ACTIVATION)
    kind = value.type().name()
    missing = f"returns a value of type {kind} (must be checked, or a rule could silently match)"
    return {"us_per_condition": time_per_eval(run_all) / len(CONDITIONS), "missing_key": missing}


def compare() -> dict[str, Any]:
    results: dict[str, Any] = {"common-expression-language": common_expression_language()}
    try:
        results["cel-expr-python"] = cel_expr_python()
    except ImportError:
        results["cel-expr-python"] = "not installed (pip install -e '.[bench]')"
    return results


def main() -> None:
    print(json.dumps(compare(), indent=2))


if __name__ == "__main__":
    main()
