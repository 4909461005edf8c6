"""``make bench`` rewrites docs/performance.md's generated part and keeps the hand-written analysis."""

from __future__ import annotations

from pathlib import Path

from bench.doc_parts import HAND_WRITTEN, with_hand_written_part


def test_a_rewrite_keeps_the_hand_written_part(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nold figures\n\n{HAND_WRITTEN}\n## Issue 12\n\nwhy it changed\n")
    new = with_hand_written_part("# Performance\n\nnew figures\n", doc)
    assert "new figures" in new and "old figures" not in new
    assert new.endswith(f"{HAND_WRITTEN}\n## Issue 12\n\nwhy it changed\n")


def test_a_first_write_adds_the_marker(tmp_path: Path) -> None:
    new = with_hand_written_part("# Performance\n", tmp_path / "missing.md")
    assert new == f"# Performance\n\n{HAND_WRITTEN}\n"


def test_the_committed_document_has_the_marker() -> None:
    doc = Path(__file__).parents[2] / "docs" / "performance.md"
    generated, marker, hand = doc.read_text().partition(HAND_WRITTEN)
    assert marker and generated.startswith("# Performance") and "## Issue 12" in hand
