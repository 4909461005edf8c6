"""CLI: ``tactful simulate``, ``tactful eval ope`` and ``tactful learn ...`` (registered by cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tactful.engine import Engine
    from tactful.learn.bandit import BanditLearner
    from tactful.learn.ope import Candidate

learn_app = typer.Typer(
    no_args_is_help=True, help="The learning loop: modes, status, snapshots, reward windows."
)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    eval_app.command("ope")(eval_ope)
    app.add_typer(learn_app, name="learn")


# -- simulate -------------------------------------------------------------------------------------


def simulate(
    population: Annotated[Path, typer.Option("--population", help="Population spec YAML.")],
    decisions: Annotated[int, typer.Option("--decisions", min=1, max=1_000_000)] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Several seeds, e.g. 1-10: mean, worst and 95 % interval.")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=64, help="Processes for --seeds.")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a regret-curve PNG here.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy YAML (default: shipped).")] = None,
    explorer: Annotated[str | None, typer.Option("--explorer", help="squarecb | epsilon")] = None,
    log_out: Annotated[
        Path | None, typer.Option("--log-out", help="Write a strategy's log as JSONL.")
    ] = None,
    log_strategy: Annotated[str, typer.Option("--log-strategy", help="bandit | random | rules")] = "random",
) -> None:
    """Run rules, bandit (live), random and oracle on the same simulated customers."""
    from rich.progress import Progress

    from tactful.cli import errors_to_exit, fail, out, print_json
    from tactful.config import default_policy_file
    from tactful.learn.simulator.run import plot_regret, write_log
    from tactful.learn.simulator.run import simulate as run
    from tactful.learn.simulator.spec import load_spec
    from tactful.policy.loader import load_policy_file

    if explorer is not None and explorer not in ("squarecb", "epsilon"):
        fail("--explorer must be squarecb or epsilon", "invalid_explorer")
    if log_strategy not in ("bandit", "random", "rules", "oracle"):
        fail("--log-strategy must be bandit, random, rules or oracle", "invalid_strategy")
    if seeds is not None:
        with errors_to_exit():
            from tactful.learn.simulator.seeds import parse_seeds

            chosen = parse_seeds(seeds)
        if len(chosen) > 1:
            _simulate_seeds(population, policy, decisions, chosen, jobs, explorer, json_out, plot)
            return
        seed = chosen[0]
    with errors_to_exit():
        spec = load_spec(population)
        compiled = load_policy_file(policy or default_policy_file())
        with Progress(transient=True, disable=json_out) as bar:
            task = bar.add_task("simulating", total=decisions)
            report, rows = run(
                spec,
                compiled,
                decisions=decisions,
                seed=seed,
                explorer=explorer,
                log_strategy=log_strategy if log_out else None,
                progress=lambda done: bar.update(task, completed=done),
            )
    if log_out is not None:
        with log_out.open("w", encoding="utf-8") as handle:
            write_log(rows, handle)
    if plot is not None:
        plot_regret(report, plot)
    report.pop("regret_curve", None)
    if json_out:
        print_json(report)
        return
    out.print(f"[bold]{report['spec']}[/]: {decisions} decisions, seed {seed}, explorer {report['explorer']}")
    for name, figures in report["strategies"].items():
        regret = report.get("regret_vs_oracle", {}).get(name, "")
        out.print(
            f"  {name:7} cumulative reward {figures['cumulative_reward']:>10}  "
            f"expected {figures['cumulative_expected_reward']:>10}  regret {regret}"
        )
    out.print(f"  policy violations: {report['policy_violations']}")


def _simulate_seeds(
    population: Path,
    policy: Path | None,
    decisions: int,
    seeds: list[int],
    jobs: int,
    explorer: str | None,
    json_out: bool,
    plot: Path | None,
) -> None:
    from rich.progress import Progress

    from tactful.cli import errors_to_exit, out, print_json
    from tactful.learn.simulator.seeds import plot_bands, simulate_seeds
    from tactful.learn.simulator.spec import load_spec

    with errors_to_exit():
        spec = load_spec(population)
        if policy is not None:
            from tactful.policy.loader import load_policy_file

            load_policy_file(policy)  # reject a bad policy before starting any process
        with Progress(transient=True, disable=json_out) as bar:
            task = bar.add_task("seeds", total=len(seeds))
            report = simulate_seeds(
                spec,
                policy,
                decisions=decisions,
                seeds=seeds,
                jobs=jobs,
                explorer=explorer,
                progress=lambda done: bar.update(task, completed=done),
            )
    if plot is not None:
        plot_bands(report, plot)
    report.pop("regret_curves", None)
    if json_out:
        print_json(report)
        return
    out.print(
        f"[bold]{report['spec']}[/]: {decisions} decisions × {len(seeds)} seeds ({seeds[0]}…{seeds[-1]})"
    )
    for name, figures in report["strategies"].items():
        f = figures["cumulative_expected_reward"]
        out.print(
            f"  {name:7} expected reward mean {f['mean']:>10}  worst {f['worst']:>10}  "
            f"95 % [{f['low']}, {f['high']}]"
        )
    for key in ("bandit_share_of_oracle", "bandit_gain_over_rules"):
        if key in report:
            f = report[key]
            out.print(f"  {key}: mean {f['mean']}  worst {f['worst']}  95 % [{f['low']}, {f['high']}]")
    if "drift_recovery" in report:
        out.print(f"  drift recovery (worst, decisions): {report['drift_recovery']['worst']}")
    out.print(f"  policy violations: {report['policy_violations']}")


# -- eval ope -------------------------------------------------------------------------------------


def eval_ope(
    candidate: Annotated[
        str,
        typer.Option(
            "--candidate",
            help="rules | uniform | model:latest | model:VERSION (a stored snapshot) | a saved VW model file",
        ),
    ],
    logs: Annotated[str, typer.Option("--logs", help="A JSONL file of logged decisions, or 'store'.")],
    db: Annotated[str | None, typer.Option("--db", help="Database URL (logs 'store' or model:...).")] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name.")] = "demo",
    explore: Annotated[
        bool, typer.Option("--explore", help="Evaluate a model with its exploration.")
    ] = False,
) -> None:
    """Estimate a candidate's value from logged decisions: IPS, SNIPS, DR with 95 % intervals."""
    from tactful.cli import errors_to_exit, print_json
    from tactful.learn.ope import LoggedDecision, evaluate, read_jsonl

    with errors_to_exit():
        store = None
        try:
            if logs == "store" or candidate.startswith("model:"):
                from tactful.cli import settings_for
                from tactful.cli_support import tenant_id_of
                from tactful.store import open_store

                store = open_store(settings_for(db).database_url)
                tenant_id = tenant_id_of(store, tenant)
            if logs == "store":
                assert store is not None
                rows = [LoggedDecision.of(c) for c in store.learning.choices(tenant_id, closed_only=True)]
            else:
                rows = read_jsonl(logs)
            chosen = _candidate(candidate, store, tenant_id if store is not None else None, explore)
            report = evaluate(rows, chosen)
        finally:
            if store is not None:
                store.close()
    print_json(report.as_dict())


def _candidate(spec: str, store: Any, tenant_id: Any, explore: bool) -> Candidate:
    from tactful.errors import InputRejected
    from tactful.learn.model import BanditModel
    from tactful.learn.ope import ModelCandidate, RulesCandidate, UniformCandidate
    from tactful.learn.store import require_snapshot

    if spec == "rules":
        return RulesCandidate()
    if spec == "uniform":
        return UniformCandidate()
    if spec.startswith("model:"):
        ref = spec.removeprefix("model:")
        if ref == "latest":
            snap = store.learning.get_snapshot(tenant_id)
            if snap is None:
                raise InputRejected("the tenant has no learner snapshot yet", code="snapshot_not_found")
        elif ref.isdigit():
            snap = require_snapshot(store.learning, tenant_id, int(ref))
        else:
            raise InputRejected(
                f"bad model reference {spec!r}: use model:latest or model:N", code="bad_candidate"
            )
        model = BanditModel(snap.args, model_bytes=snap.model)
        return ModelCandidate(model, f"snapshot v{snap.version}", greedy=not explore)
    path = Path(spec)
    if not path.is_file():
        raise InputRejected(
            f"unknown candidate {spec!r}: rules, uniform, model:latest, model:N or a VW model file",
            code="bad_candidate",
        )
    return ModelCandidate(BanditModel("", model_bytes=path.read_bytes()), path.name, greedy=not explore)


# -- learn ----------------------------------------------------------------------------------------


def _engine_and_learner(db: str | None) -> tuple[Engine, BanditLearner]:
    from tactful.engine import Engine
    from tactful.learn.bandit import BanditLearner

    engine = Engine.from_settings(_settings(db))
    if not isinstance(engine.learner, BanditLearner):
        engine.close()
        raise RuntimeError("the engine has no bandit learner")
    return engine, engine.learner


def _settings(db: str | None) -> Any:
    from tactful.cli import settings_for

    return settings_for(db)


DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL.")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant name.")]


@learn_app.command("mode")
def learn_mode(
    mode: Annotated[
        str, typer.Argument(help="off | shadow | live | policy (use the policy's learning.mode)")
    ],
    tenant: TenantOpt = "demo",
    db: DbOpt = None,
) -> None:
    """Set the tenant's learning mode (overrides the policy's ``learning.mode``)."""
    from tactful.cli import errors_to_exit, fail, out
    from tactful.cli_support import tenant_id_of

    if mode not in ("off", "shadow", "live", "policy"):
        fail("mode must be off, shadow, live or policy", "invalid_mode")
    with errors_to_exit():
        engine, learner = _engine_and_learner(db)
        try:
            learner.set_mode(tenant_id_of(engine.store, tenant), None if mode == "policy" else mode)
        finally:
            engine.close()
    out.print(f"tenant {tenant}: learning mode {mode}")


@learn_app.command("status")
def learn_status(tenant: TenantOpt = "demo", db: DbOpt = None) -> None:
    """Mode, model version, rewards, shadow agreement rate (JSON)."""
    from tactful.cli import errors_to_exit, print_json
    from tactful.cli_support import tenant_id_of

    with errors_to_exit():
        engine, learner = _engine_and_learner(db)
        try:
            status = learner.status(tenant_id_of(engine.store, tenant))
        finally:
            engine.close()
    print_json(status)


@learn_app.command("snapshot")
def learn_snapshot(
    tenant: TenantOpt = "demo",
    db: DbOpt = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the VW model file here.")] = None,
) -> None:
    """Save the tenant's current model as a new snapshot."""
    from tactful.cli import errors_to_exit, out
    from tactful.cli_support import tenant_id_of

    with errors_to_exit():
        engine, learner = _engine_and_learner(db)
        try:
            snap = learner.snapshot(tenant_id_of(engine.store, tenant))
        finally:
            engine.close()
    if out_file is not None:
        out_file.write_bytes(snap.model)
    out.print(f"tenant {tenant}: snapshot v{snap.version} ({snap.learned} rewards learned)")


@learn_app.command("snapshots")
def learn_snapshots(tenant: TenantOpt = "demo", db: DbOpt = None) -> None:
    """List the tenant's snapshots, newest first."""
    from tactful.cli import errors_to_exit, print_json
    from tactful.cli_support import tenant_id_of
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(_settings(db).database_url)
        try:
            snaps = store.learning.list_snapshots(tenant_id_of(store, tenant))
        finally:
            store.close()
    print_json(
        [
            {
                "version": s.version,
                "learned": s.learned,
                "note": s.note,
                "bytes": len(s.model),
                "created_at": s.created_at,
            }
            for s in snaps
        ]
    )


@learn_app.command("rollback")
def learn_rollback(
    to: Annotated[int, typer.Option("--to", help="The snapshot version to restore.")],
    tenant: TenantOpt = "demo",
    db: DbOpt = None,
) -> None:
    """Restore an older snapshot (appended as the newest, so restarts resume from it)."""
    from tactful.cli import errors_to_exit, out
    from tactful.cli_support import tenant_id_of

    with errors_to_exit():
        engine, learner = _engine_and_learner(db)
        try:
            snap = learner.rollback(tenant_id_of(engine.store, tenant), to)
        finally:
            engine.close()
    out.print(f"tenant {tenant}: restored v{to} as snapshot v{snap.version}")


@learn_app.command("close-windows")
def learn_close_windows(db: DbOpt = None) -> None:
    """Turn every decision whose reward window has closed into a reward and learn from it."""
    from tactful.cli import errors_to_exit, out

    with errors_to_exit():
        engine, learner = _engine_and_learner(db)
        try:
            learned = learner.close_due(engine.clock())
            for tenant_id in learner.tenants():
                learner.snapshot(tenant_id, note="close-windows")
        finally:
            engine.close()
    out.print(f"closed {learned} reward window(s)")


@learn_app.command("export")
def learn_export(
    out_file: Annotated[Path, typer.Option("--out", help="JSONL file to write.")],
    tenant: TenantOpt = "demo",
    db: DbOpt = None,
) -> None:
    """Export the tenant's rewarded decisions as JSONL for ``tactful eval ope --logs``."""
    import json

    from tactful.cli import errors_to_exit, out
    from tactful.cli_support import tenant_id_of
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(_settings(db).database_url)
        try:
            rows = store.learning.choices(tenant_id_of(store, tenant), closed_only=True)
        finally:
            store.close()
    with out_file.open("w", encoding="utf-8") as handle:
        for c in rows:
            row = {
                "features": c.features,
                "arms": list(c.arms),
                "chosen": c.chosen,
                "propensity": c.propensity,
                "reward": c.reward,
                "mode": c.mode,
                "model_version": c.model_version,
                "decision_id": c.decision_id,
            }
            handle.write(json.dumps(row, sort_keys=True) + "\n")
    out.print(f"wrote {len(rows)} decision(s) to {out_file}")
