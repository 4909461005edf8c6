"""docs/performance.md has two parts: what ``bench/run.py --write`` generates, and the analysis
written by hand below a marker line (issue sections: what changed, why, figures from runs with other
flags). A run replaces the first and keeps the second, so ``make bench`` never deletes the analysis."""

from __future__ import annotations

from pathlib import Path

#: Everything above this line of docs/performance.md is replaced by each ``--write``; the analysis
#: written by hand below it (issue sections, what changed and why) is kept.
HAND_WRITTEN = (
    "<!-- bench/run.py writes the part above this line; the part below is written by hand and kept -->"
)


def with_hand_written_part(generated: str, path: Path) -> str:
    """The new generated part followed by the existing file's hand-written part (if any)."""
    kept = ""
    if path.exists():
        _, marker, after = path.read_text().partition(HAND_WRITTEN)
        kept = after if marker else ""
    return f"{generated.rstrip()}\n\n{HAND_WRITTEN}\n{kept.lstrip(chr(10))}"
