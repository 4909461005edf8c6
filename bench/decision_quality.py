"""Decision quality: the labelled suite's dev and held-out parts through the default engine.

    .venv/bin/python bench/decision_quality.py

Runs ``tactful.quality.decisions.evaluate`` (what ``tactful eval decisions`` prints) on
``bench/data/decisions/dev.jsonl`` and ``heldout.jsonl`` and compares each measure with the issue-10
target. Real turns are read from the shared data folder ($TACTFUL_DATA_DIR or ../shared/data); without
it the section says so. docs/decision-quality.md explains the suite and the labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from tactful.errors import InputRejected
from tactful.quality.decisions import MEASURES, evaluate
from tactful.quality.suite import load_suite
from tactful.signals.datasets import data_dir

SUITE: Final = Path(__file__).parent / "data" / "decisions"
#: measure → (target, True when higher is better)
TARGETS: Final[dict[str, tuple[float, bool]]] = {
    "action_acceptable": (0.85, True),
    "empathy_when_angry": (0.85, True),
    "human_when_asked": (0.95, True),
    "optout_honoured": (1.0, True),
    "language_match": (0.90, True),
    "intent_coverage": (0.85, True),
    "injection_recall": (0.90, True),
    "injection_false_positive_rate": (0.10, False),
}


def _cell(figures: dict[str, Any], measure: str) -> str:
    share = figures[measure]
    hits, total = figures["counts"][measure]
    return "—" if share is None else f"{share:.3f} ({hits}/{total})"


def _met(figures: dict[str, Any], measure: str) -> str:
    share = figures[measure]
    target, higher = TARGETS[measure]
    if share is None:
        return "—"
    return "met" if (share >= target if higher else share <= target) else "**missed**"


def section() -> str:
    try:
        parts = {name: load_suite(SUITE / f"{name}.jsonl", data_dir()) for name in ("dev", "heldout")}
    except InputRejected as exc:
        return f"## Decision quality\n\nSkipped: {exc.message}\n"
    figures = {name: evaluate(cases).figures() for name, cases in parts.items()}
    lines = [
        "## Decision quality",
        "",
        "`.venv/bin/python bench/decision_quality.py` (also run by `make bench`); the same figures as "
        "`tactful eval decisions --data bench/data/decisions/PART.jsonl --json`. Default policy, default "
        "signal tiers, SQLite; docs/decision-quality.md has the suite and the labelling guide.",
        "",
        f"| measure | dev (n={figures['dev']['n']}) | held-out (n={figures['heldout']['n']}) "
        "| target | held-out |",
        "| --- | --- | --- | --- | --- |",
    ]
    for measure in MEASURES:
        target, higher = TARGETS[measure]
        lines.append(
            f"| {measure} | {_cell(figures['dev'], measure)} | {_cell(figures['heldout'], measure)} "
            f"| {'≥' if higher else '≤'} {target:g} | {_met(figures['heldout'], measure)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(section())
