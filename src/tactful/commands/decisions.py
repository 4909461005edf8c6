"""``tactful eval decisions``: the decision-quality suite through the real engine (docs/decision-quality.md).

Exit codes as everywhere: 0 measured, 2 bad input (a missing or malformed suite, a missing data folder).
"""

# No ``from __future__ import annotations``: typer reads the annotations at run time.
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    eval_app.command("decisions")(decisions)


def decisions(
    data: Annotated[Path, typer.Option("--data", help="The suite: JSON Lines of labelled cases.")],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Shared data for referenced turns (default: $TACTFUL_DATA_DIR or ../shared/data).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    failures: Annotated[
        bool, typer.Option("--failures", help="Also list every case a measure failed.")
    ] = False,
) -> None:
    """Decide every case of a labelled suite on the embedded default and report the decision quality."""
    from tactful.cli import err, errors_to_exit, print_json
    from tactful.quality.decisions import evaluate
    from tactful.quality.suite import load_suite, trained_on
    from tactful.signals.datasets import data_dir as default_data_dir

    with errors_to_exit():
        cases = load_suite(data, data_dir or default_data_dir())
        overlap = trained_on(cases)
        if overlap:
            err.print(
                f"[yellow]warning[/]: {len(overlap)} of {len(cases)} cases are turns the support-intent "
                "head was trained on (signals/support/labelled_turns.csv); intent figures overstate it",
                highlight=False,
            )
        report = evaluate(cases)
    figures = report.figures()
    figures["training_overlap"] = len(overlap)
    if as_json:
        if failures:
            figures["failures"] = [_failure(o) for o in report.outcomes if o.failed]
        print_json(figures)
        return
    _print_table(figures)
    if failures:
        _print_failures([_failure(o) for o in report.outcomes if o.failed])


def _failure(outcome: Any) -> dict[str, Any]:
    case = outcome.case
    return {
        "id": case.case_id,
        "failed": list(outcome.failed),
        "text": case.text[:160],
        "channel": case.channel.value,
        "family": case.family.value,
        "accept": sorted(a.value for a in case.accept),
        "action": outcome.action.value,
        "empathy": round(outcome.empathy, 2),
        "intent": outcome.intent,
        "language": case.language,
        "reply_language": outcome.reply_language,
        "injection": round(outcome.injection, 2),
        "rules_fired": list(outcome.rules_fired),
        "signals": {k: outcome.signals[k] for k in _SIGNALS_SHOWN if k in outcome.signals},
    }


_SIGNALS_SHOWN = ("valence", "anger", "frustration", "urgency", "intent_confidence", "language")


def _print_table(figures: dict[str, Any]) -> None:
    from rich.table import Table

    from tactful.cli import out
    from tactful.quality.decisions import MEASURES

    table = Table("measure", "share", "hits / cases", title=f"decision quality, {figures['n']} cases")
    for measure in MEASURES:
        share = figures[measure]
        hits, total = figures["counts"][measure]
        table.add_row(measure, "—" if share is None else f"{share:.3f}", f"{hits} / {total}")
    out.print(table)


def _print_failures(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    from tactful.cli import out

    out.print(f"\n[bold]{len(rows)} case(s) with a failed measure[/]")
    for r in rows:
        out.print(
            escape(
                f"{r['id']} [{', '.join(r['failed'])}] {r['channel']}: {r['text']!r} → {r['action']} "
                f"(accept {'/'.join(r['accept'])}), empathy {r['empathy']}, intent {r['intent']} "
                f"(family {r['family']}), language {r['language']}→{r['reply_language']}"
            ),
            highlight=False,
        )
