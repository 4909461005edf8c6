"""CLI for the signal models: ``tactful eval <task>``, ``tactful train <signal>``, ``tactful
intents train`` and ``tactful models list|splits``. Registered from ``tactful.cli``."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tactful.signals.evaluate import TASKS

DataOption = Annotated[Path, typer.Option("--data", help="Labelled CSV or TSV file (by extension).")]
TextCol = Annotated[str, typer.Option("--text-col", help="Column holding the text.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="Column holding the gold label or score.")]
TierOption = Annotated[
    str, typer.Option("--tier", help="lexicon | fast | embed | multilingual | transformer")
]
SIGNALS = ("all", "sentiment", "emotion", "emotions", "intent", "formality", "politeness", "injection")


def _env() -> None:
    for name in ("ORT_DISABLE_TELEMETRY", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")


def _eval(
    task: str,
    data: Path,
    text_col: str,
    label_col: str,
    train: Path | None,
    tier: str,
    class_col: str | None,
    baseline: str | None,
    predictions: Path | None,
    as_json: bool,
    cache: Path | None = None,
) -> None:
    from tactful.cli import errors_to_exit, fail, out, print_json
    from tactful.signals.base import TierUnavailable
    from tactful.signals.datasets import column, read_table
    from tactful.signals.evaluate import (
        by_group,
        evaluate,
        evaluate_predictor,
        vader_baseline,
        write_predictions,
    )

    _env()
    with errors_to_exit():
        rows = read_table(data)
        texts, gold = column(rows, text_col, data), column(rows, label_col, data)
        classes = column(rows, class_col, data) if class_col else None
        if baseline not in (None, "vader"):
            fail(f"unknown baseline {baseline!r}; only 'vader' is available", "bad_option")
        if baseline and task != "sentiment":
            fail("--baseline vader applies to the sentiment task only", "bad_option")
        if train is not None:
            if task != "intent":
                fail("--train applies to the intent task only", "bad_option")
            if tier not in ("fast", "multilingual", "transformer"):
                fail("tenant intent models use the fast, multilingual or transformer tier", "bad_option")
            train_rows = read_table(train)
            train_texts = column(train_rows, text_col, train)
            train_labels = column(train_rows, label_col, train)
            predict: Callable[[str], str]
            if tier == "fast":
                from tactful.signals.tenant_intents import train_intents

                model = train_intents(train_texts, train_labels)
                predict, threshold = (lambda t: model.predict(t).intent), model.threshold
            else:
                from tactful.signals.heavy import heavy_encoder
                from tactful.signals.heavy_intents import train_heavy_intents

                heavy = train_heavy_intents(
                    heavy_encoder(tier), train_texts, train_labels, training=_cached(tier, cache)
                )
                predict, threshold = (lambda t: heavy.predict(t).intent), heavy.threshold
            outcome = evaluate_predictor(
                task, predict, texts, gold, tier=tier, version=f"tenant-intent-{tier}@trained-now"
            )
            outcome.result["threshold"] = threshold
        else:
            from tactful.signals.tiers import load_tier

            try:
                loaded = load_tier(tier)
            except TierUnavailable as exc:
                fail(str(exc), "tier_unavailable", 1)
            except ValueError as exc:
                fail(str(exc), "bad_option")
            outcome = evaluate(task, loaded.extract, texts, gold, classes=classes)
            if baseline == "vader":
                outcome.result["baseline"] = vader_baseline(texts, gold)
            _warn_overlap(task, tier, texts, outcome.result)
        if rows and "lang" in rows[0]:
            outcome.result["by_language"] = by_group(
                task, gold, outcome.predictions, column(rows, "lang", data)
            )
        if predictions is not None:
            write_predictions(predictions, gold, outcome.predictions)
    if as_json:
        print_json(outcome.result)
    else:
        for key, value in outcome.result.items():
            out.print(f"{key:>18}  {value}")


def _warn_overlap(task: str, tier: str, texts: list[str], result: dict[str, Any]) -> None:
    """Count the rows the tier's heads were trained on; warn on stderr when the task's own head saw
    any (a heavy tier is measured over the fast tier's heads too)."""
    from tactful.signals import overlap
    from tactful.signals.evaluate import TASK_SIGNALS
    from tactful.signals.tiers import MODELS_DIR

    found: dict[str, int] = {}
    for source in dict.fromkeys(("fast", tier)):
        for signal, n in overlap.overlap(MODELS_DIR, source, texts).items():
            found[f"{signal}-{source}"] = n
    if not found:
        return
    result["training_overlap"] = found
    relevant = TASK_SIGNALS.get(task, (task,))
    for name, n in found.items():
        if name.rsplit("-", 1)[0] in relevant:
            typer.echo(
                f"warning: {n} of {len(texts)} rows ({n / len(texts):.1%}) are in the training data of "
                f"{name}; this is not a held-out figure",
                err=True,
            )


def _cached(tier: str, cache: Path | None) -> Any:
    """The heavy tier's encoder behind a disk cache, for a tenant model's training texts (None
    without ``--cache``); evaluation texts are always encoded live, one at a time."""
    if cache is None:
        return None
    from tactful.signals.encode_cache import CachedEncoder
    from tactful.signals.heavy import Concatenated, heavy_encoder

    return Concatenated(tier, [CachedEncoder(part, cache) for part in heavy_encoder(tier).parts])


def _register_eval(eval_app: typer.Typer, task: str) -> None:
    def command(
        data: DataOption,
        text_col: TextCol = "text",
        label_col: LabelCol = "label",
        train: Annotated[
            Path | None, typer.Option("--train", help="intent: train a tenant model on this file first.")
        ] = None,
        tier: TierOption = "fast",
        class_col: Annotated[
            str | None, typer.Option("--class-col", help="politeness: polite/impolite column.")
        ] = None,
        baseline: Annotated[str | None, typer.Option("--baseline", help="sentiment: 'vader'.")] = None,
        predictions: Annotated[
            Path | None, typer.Option("--predictions", help="Write row,gold,pred CSV here.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        cache: Annotated[
            Path | None,
            typer.Option("--cache", help="intent --train, heavy tiers: reuse encoded texts kept here."),
        ] = None,
    ) -> None:
        _eval(task, data, text_col, label_col, train, tier, class_col, baseline, predictions, as_json, cache)

    command.__doc__ = f"Measure the {task} signal on a labelled file."
    eval_app.command(task)(command)


def train(
    signal: Annotated[str, typer.Argument(help="all | " + " | ".join(SIGNALS[1:]))],
    tier: TierOption = "fast",
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Default: $TACTFUL_DATA_DIR or ../shared/data.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Artifact directory (default: the shipped one).")
    ] = None,
    cards: Annotated[
        Path | None, typer.Option("--cards", help="Also write model cards into this directory.")
    ] = None,
    vocabulary: Annotated[
        bool,
        typer.Option(
            "--rebuild-vocabulary",
            help="fast, one signal: rebuild the shared vocabulary too (retrains nothing else).",
        ),
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="multilingual/transformer: keep encoded texts here between runs."),
    ] = None,
) -> None:
    """Rebuild a shipped model artifact from the shared data (fixed seeds) and record its dev figures."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tactful.cli import errors_to_exit, fail, out
    from tactful.signals import hub
    from tactful.signals.base import TierUnavailable
    from tactful.signals.featurize import Vocabulary, scheme_of
    from tactful.signals.heads import HeadSet
    from tactful.signals.tiers import MODELS_DIR, TIERS, artifact_path
    from tactful.signals.training import merge, save, train_tier

    _env()
    if signal not in SIGNALS:
        fail(f"unknown signal {signal!r}; expected one of {', '.join(SIGNALS)}", "bad_option")
    if tier not in TIERS or tier == "lexicon":
        fail("--tier must be fast, embed, multilingual or transformer", "bad_option")
    directory = out_dir or MODELS_DIR
    path = artifact_path(tier, directory)
    chosen = None if signal == "all" else [signal]
    old: HeadSet | None = None
    vocab: Vocabulary | None = None
    encoder_version = None
    encode = None
    arrays: dict[str, Any] = {}
    if chosen and path.is_file():
        old, arrays = HeadSet.load(path)
        if tier == "fast" and not vocabulary:
            terms = tuple(arrays["terms"].tobytes().decode("utf-8").split("\n"))
            vocab = Vocabulary(terms, arrays["idf"].astype("float32"))
    elif chosen and tier == "fast" and not vocabulary:
        fail(f"{path} does not exist yet: run `tactful train all` first", "missing_artifact", 1)
    heavy = tier in ("multilingual", "transformer")
    if tier == "embed":
        from tactful.signals.encoders import load_encoder

        try:
            encoder = load_encoder(tier)
        except TierUnavailable as exc:
            fail(str(exc), "tier_unavailable", 1)
        encoder_version = encoder.version
        encode = encoder.encode
    with (
        errors_to_exit(),
        Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out) as bar,
    ):
        task = bar.add_task(f"{tier}: starting", total=None)

        def progress(message: str) -> None:
            bar.update(task, description=f"{tier}: {message}")

        if heavy:
            from tactful.signals.hashed import HashedNgrams
            from tactful.signals.heavy_training import train_heavy_tier

            kept = HashedNgrams(arrays["idf"]) if old is not None and "idf" in arrays else None
            try:
                trained, hashed = train_heavy_tier(
                    tier, chosen, data_dir, cache, signal == "all", kept, progress
                )
            except TierUnavailable as exc:
                fail(str(exc), "tier_unavailable", 1)
            heads = merge(old, trained.heads)
            heads.meta["version"] = "1.0.0"
            heads.save(path, idf=hashed.idf)
        else:
            # One head retrained into an existing artifact keeps the features its other heads read.
            scheme = scheme_of(old.meta) if old is not None else "additive"
            trained, vocab = train_tier(
                tier, chosen, root=data_dir, encode=encode, vocabulary=vocab, progress=progress, scheme=scheme
            )
            heads = merge(old, trained.heads)
            if encoder_version:
                heads.meta["encoder"] = encoder_version
            heads.meta["version"] = "1.0.0"
            save(heads, path, vocab)
        hub.record(directory, tier, path, heads, trained.figures)
        if not heavy:
            from tactful.signals import overlap

            overlap.record(directory, tier, trained.training_texts)
    for name, figures in trained.figures.items():
        shown = {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in figures.items()
            if k not in ("dev", "data")
        }
        out.print(f"{name}-{tier}: {json.dumps(shown)}")
    out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if cards is not None:
        write_cards(directory, cards)
        out.print(f"wrote model cards to {cards}")


def write_cards(directory: Path, cards: Path) -> None:
    from tactful.signals import hub

    registry = hub.read_registry(directory)
    by_signal: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted(registry["models"].values(), key=lambda e: (e["signal"], e["tier"])):
        by_signal.setdefault(entry["signal"], []).append(entry)
    cards.mkdir(parents=True, exist_ok=True)
    for signal, entries in by_signal.items():
        (cards / f"{signal}.md").write_text(
            hub.model_card(signal, entries, registry.get("latency")), encoding="utf-8"
        )


def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The shipped models: name@version, tier, dev figures."""
    from tactful.cli import out, print_json
    from tactful.signals import hub
    from tactful.signals.tiers import MODELS_DIR

    registry = hub.read_registry(MODELS_DIR)
    if as_json:
        print_json(registry)
        return
    for entry in sorted(registry["models"].values(), key=lambda e: e["ref"]):
        dev = {k: round(v, 3) for k, v in entry["dev"].items() if isinstance(v, float)}
        out.print(f"{entry['ref']:<28} {entry['tier']:<12} n={entry['dev']['n']:<6} {dev}")


def models_splits(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the split CSVs.")],
) -> None:
    """Write the fixed-seed train/dev splits the shipped models use, for `tactful eval --data`."""
    from tactful.cli import errors_to_exit, out
    from tactful.signals.datasets import data_dir, read_table, stratified_split
    from tactful.signals.recipes import DEV_FRACTION, SEED

    root = data_dir()
    specs: dict[str, tuple[str, Callable[[dict[str, str]], str]]] = {
        "banking77": ("banking77/train.csv", lambda r: r["category"]),
        "bitext": ("bitext-customer-support/bitext_visible.csv", lambda r: r["intent"]),
        "injection": ("deepset-prompt-injections/train.csv", lambda r: r["label"]),
        "politeness": (
            "stanford-politeness/politeness_visible.csv",
            lambda r: r["source"] + "/" + r["quartile_label"],
        ),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with errors_to_exit():
        for name, (relative, stratum) in specs.items():
            rows = read_table(root / relative)
            train_idx, dev_idx = stratified_split([stratum(r) for r in rows], DEV_FRACTION, SEED)
            for part, idx in (("train", train_idx), ("dev", dev_idx)):
                _write(out_dir / f"{name}_{part}.csv", [rows[i] for i in idx])
        from tactful.signals.recipes import detokenise

        rows = [
            r
            for r in read_table(root / "pavlick-formality/formality_visible.csv")
            if r["n_annotators"] != "0"
        ]
        train_idx, dev_idx = stratified_split([r["domain"] for r in rows], DEV_FRACTION, SEED)
        for part, idx in (("train", train_idx), ("dev", dev_idx)):
            _write(
                out_dir / f"formality_{part}.csv",
                [{**rows[i], "text": detokenise(rows[i]["sentence"])} for i in idx],
            )
        # The injection heads' held-out customer messages (label 0): `tactful eval injection` on
        # them gives 1 − accuracy = the false-positive rate at 0.5 recorded in the registry.
        from tactful.signals.recipes import bitext_split, customer_tweets

        held = {"bitext": bitext_split(root)[1], "customer_tweets": customer_tweets(root)[1]}
        for name, texts in held.items():
            _write(out_dir / f"injection_{name}_dev.csv", [{"text": t, "label": "0"} for t in texts])
        # Real customer turns (dev part; the reserved fifth is never read): support-intent families
        # and the hand-labelled anger set, for `tactful eval intent` / `tactful eval anger`.
        from tactful.signals.support.turns import anger_turns, labelled_turns

        for name, (texts, labels) in (
            ("support_turns_dev", labelled_turns(root, "dev")),
            ("anger_turns_dev", anger_turns(root)),
        ):
            _write(
                out_dir / f"{name}.csv", [{"text": t, "label": g} for t, g in zip(texts, labels, strict=True)]
            )
    out.print(f"wrote splits to {out_dir}")


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def intents_train(
    data: DataOption,
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name.")] = "demo",
    db: Annotated[str | None, typer.Option("--db", help="Database URL.")] = None,
) -> None:
    """Add a file of labelled examples to a tenant and train its intent model (label `oos` = out of scope)."""
    from tactful.cli import errors_to_exit, out, settings_for
    from tactful.cli_support import tenant_id_of
    from tactful.signals.datasets import column, read_table
    from tactful.signals.tenant_intents import add_and_train
    from tactful.store import open_store

    with errors_to_exit():
        rows = read_table(data)
        examples = list(zip(column(rows, text_col, data), column(rows, label_col, data), strict=True))
        store = open_store(settings_for(db).database_url)
        try:
            result = add_and_train(store, tenant_id_of(store, tenant), examples)
        finally:
            store.close()
    out.print(
        f"tenant {tenant}: intent model v{result.version} on {result.n_examples} examples, "
        f"{len(result.labels)} labels, oos threshold {result.threshold:.2f}, "
        f"held-out {json.dumps(result.metrics)}"
    )


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    for task in TASKS:
        _register_eval(eval_app, task)
    app.command("train")(train)
    models = typer.Typer(no_args_is_help=True, help="The model hub: shipped models and their data splits.")
    models.command("list")(models_list)
    models.command("splits")(models_splits)
    app.add_typer(models, name="models")
    intents = typer.Typer(no_args_is_help=True, help="Tenant intent models.")
    intents.command("train")(intents_train)
    app.add_typer(intents, name="intents")
