"""``tactful experiments create|status|stop|promote|check`` (docs/experiments.md).

Exit codes as everywhere: 0 done, 1 a check found harm (``check`` rolled an experiment back),
2 bad input, 3 the store could not be reached.
"""

# No ``from __future__ import annotations``: typer reads the annotations at run time.
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tactful.cli_support import opened_store, tenant_id_of

experiments_app = typer.Typer(
    no_args_is_help=True, help="A/B tests and canaries of policy versions, with automatic rollback."
)
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: $TACTFUL_DATABASE_URL).")]
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant name.")]
IdArgument = Annotated[str, typer.Argument(help="Experiment id (exp_…).")]
CLI_ACTOR = "cli"


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.add_typer(experiments_app, name="experiments")


def _monitor(store: Any) -> Any:
    from tactful.policy.rollout import ExperimentMonitor

    def now() -> datetime:
        return datetime.now(UTC)

    return ExperimentMonitor(
        store.experiments,
        store.facts,
        store,
        now,
        set_learner_mode=lambda tenant, mode: store.learning.set_mode(tenant, mode, now()),
    )


def _print_status(found: dict[str, Any], as_json: bool) -> None:
    from rich.table import Table

    from tactful.cli import out, print_json

    if as_json:
        print_json(found)
        return
    out.print(
        f"[bold]{found['experiment_id']}[/] {found['name']} — {found['kind']} of {found['candidate']} "
        f"against v{found['control_version']}: [bold]{found['state']}[/] at {found['share']:.0%}"
    )
    if found.get("verdict"):
        out.print(f"verdict: [bold]{found['verdict']}[/] — {found['reason']}")
    arms = Table("arm", "decisions", "customers", "matured", "resolution", "csat", "complaint", "latency ms")
    for arm, a in found.get("arms", {}).items():
        arms.add_row(
            arm,
            *(
                str(a[k])
                for k in (
                    "decisions",
                    "customers",
                    "matured",
                    "resolution",
                    "csat",
                    "complaint",
                    "latency_ms",
                )
            ),
        )
    if found.get("arms"):
        out.print(arms)
    rails = Table("guardrail", "control", "candidate", "tested", "harm", "p (always valid)", "breached")
    for g in found.get("guardrails", []):
        rails.add_row(
            g["metric"], f"{g['control']['mean']:.4g} (n={g['control']['n']})",
            f"{g['candidate']['mean']:.4g} (n={g['candidate']['n']})", str(g["tested"]),
            f"{g.get('harm', 0):.4g}", f"{g.get('always_valid_p', 1):.3g}",
            "[red]yes[/]" if g["breached"] else "no",
        )  # fmt: skip
    if found.get("guardrails"):
        out.print(rails)
    if found.get("result"):
        out.print(f"result: {json.dumps(found['result'], sort_keys=True)}")


@experiments_app.command("create")
def create(
    tenant: TenantOption,
    candidate_version: Annotated[
        int | None, typer.Option("--candidate-version", help="Published policy version.")
    ] = None,
    learner_mode: Annotated[str | None, typer.Option("--learner-mode", help="off | shadow | live")] = None,
    kind: Annotated[str, typer.Option("--kind", help="canary | ab")] = "canary",
    share: Annotated[float | None, typer.Option("--share", help="A/B: the candidate's share (0-1).")] = None,
    steps: Annotated[str | None, typer.Option("--steps", help="Canary ramp, e.g. 0.05,0.25,0.5,1")] = None,
    name: Annotated[str, typer.Option("--name")] = "",
    min_samples: Annotated[int | None, typer.Option("--min-samples", help="Per arm, before testing.")] = None,
    min_samples_per_step: Annotated[int | None, typer.Option("--min-samples-per-step")] = None,
    outcome_window: Annotated[
        int | None, typer.Option("--outcome-window-s", help="Seconds to await outcomes.")
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Start an A/B test or a canary of a policy version (or a learner mode) against the active one."""
    from pydantic import ValidationError

    from tactful.cli import errors_to_exit, fail
    from tactful.policy.experiments import ExperimentSettings

    if kind not in ("canary", "ab"):
        fail("--kind must be canary or ab", "invalid_kind")
    if learner_mode is not None and learner_mode not in ("off", "shadow", "live"):
        fail("--learner-mode must be off, shadow or live", "invalid_learner_mode")
    given: dict[str, Any] = {
        "share": share,
        "min_samples": min_samples,
        "min_samples_per_step": min_samples_per_step,
        "outcome_window_s": outcome_window,
    }
    if steps is not None:
        try:
            given["steps"] = [float(s) for s in steps.split(",") if s.strip()]
        except ValueError:
            fail(f"--steps must be shares separated by commas, not {steps!r}", "invalid_experiment")
    try:
        settings = ExperimentSettings.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        fail(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]),
            "invalid_experiment",
        )
    with errors_to_exit(), opened_store(db) as store:
        monitor = _monitor(store)
        experiment = monitor.start(
            tenant_id_of(store, tenant),
            kind=kind,
            candidate_version=candidate_version,
            candidate_mode=learner_mode,
            name=name,
            settings=settings,
            by=CLI_ACTOR,
        )
        _print_status(monitor.status(experiment).as_dict(), as_json)


@experiments_app.command("status")
def status(
    tenant: TenantOption,
    experiment_id: Annotated[
        str | None, typer.Argument(help="Experiment id; default: all, newest first.")
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """An experiment's arms, guardrails and verdict (or every experiment of the tenant)."""
    from tactful.cli import errors_to_exit, print_json
    from tactful.errors import NotFound

    with errors_to_exit(), opened_store(db) as store:
        monitor = _monitor(store)
        tid = tenant_id_of(store, tenant)
        if experiment_id is None:
            found = [monitor.status(e).as_dict() for e in store.experiments.list_experiments(tid)]
            if as_json:
                print_json(found)
            for one in found:
                if not as_json:
                    _print_status(one, False)
            return
        experiment = store.experiments.get_experiment(tid, experiment_id)
        if experiment is None:
            raise NotFound(f"no experiment {experiment_id!r}", code="experiment_not_found")
        _print_status(monitor.status(experiment).as_dict(), as_json)


@experiments_app.command("stop")
def stop(experiment_id: IdArgument, tenant: TenantOption, db: DbOption = None) -> None:
    """Stop an experiment: everyone gets the active policy again (audited)."""
    from tactful.cli import errors_to_exit, out

    with errors_to_exit(), opened_store(db) as store:
        done = _monitor(store).stop(tenant_id_of(store, tenant), experiment_id, by=CLI_ACTOR)
        out.print(f"{done.experiment_id}: {done.state}")


@experiments_app.command("promote")
def promote(experiment_id: IdArgument, tenant: TenantOption, db: DbOption = None) -> None:
    """Make the candidate the active policy (or the tenant's learner mode) and end the experiment."""
    from tactful.cli import errors_to_exit, out

    with errors_to_exit(), opened_store(db) as store:
        done = _monitor(store).promote(tenant_id_of(store, tenant), experiment_id, by=CLI_ACTOR)
        out.print(f"{done.experiment_id}: {done.state} ({done.candidate} is now active)")


@experiments_app.command("check")
def check(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant (default: all).")] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Judge every running experiment now and act: ramp, promote or roll back (run it from cron)."""
    from tactful.cli import errors_to_exit, print_json

    with errors_to_exit(), opened_store(db) as store:
        monitor = _monitor(store)
        if tenant is not None:
            one = monitor.check(tenant_id_of(store, tenant))
            found = [] if one is None else [one]
        else:
            found = monitor.check_all()
        results = [s.as_dict() for s in found]
    if as_json:
        print_json(results)
    else:
        for r in results:
            _print_status(r, False)
    if any(r["verdict"] == "rollback" for r in results):
        raise typer.Exit(1)


@experiments_app.command("simulate")
def simulate(
    population: Annotated[
        Path, typer.Option("--population", help="Population spec YAML (docs/learning.md).")
    ],
    candidate: Annotated[Path | None, typer.Option("--candidate", help="The candidate policy YAML.")] = None,
    candidate_rules: Annotated[
        Path | None, typer.Option("--candidate-rules", help="Or: YAML rules added to the control policy.")
    ] = None,
    control: Annotated[
        Path | None, typer.Option("--control", help="The active policy (default: shipped).")
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="canary | ab")] = "canary",
    decisions: Annotated[int, typer.Option("--decisions", min=100, max=1_000_000)] = 10_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    min_samples: Annotated[int, typer.Option("--min-samples")] = 100,
    min_samples_per_step: Annotated[int, typer.Option("--min-samples-per-step")] = 200,
    outcome_window: Annotated[int, typer.Option("--outcome-window-s")] = 3600,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run an experiment of a candidate policy on simulated customers (a throw-away SQLite store):
    does it get rolled back or promoted, and how many customers did it reach first?"""
    import tempfile

    from tactful.cli import errors_to_exit, fail, out, print_json
    from tactful.config import default_policy_file
    from tactful.learn.simulator.experiment import simulate_experiment, with_rules
    from tactful.learn.simulator.spec import load_spec
    from tactful.policy.experiments import ExperimentSettings
    from tactful.store import open_store

    if kind not in ("canary", "ab"):
        fail("--kind must be canary or ab", "invalid_kind")
    if (candidate is None) == (candidate_rules is None):
        fail(
            "give --candidate (a policy) or --candidate-rules (rules to add to the control)",
            "invalid_candidate",
        )

    def read(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror}", "file_unreadable")

    control_source = read(control or default_policy_file())
    with errors_to_exit(), tempfile.TemporaryDirectory() as tmp:
        settings = ExperimentSettings(
            min_samples=min_samples,
            min_samples_per_step=min_samples_per_step,
            outcome_window_s=outcome_window,
        )
        store = open_store(f"sqlite:///{Path(tmp) / 'simulated.db'}")
        try:
            report = simulate_experiment(
                store,
                load_spec(population),
                control_source,
                read(candidate)
                if candidate is not None
                else with_rules(control_source, read(candidate_rules)),  # type: ignore[arg-type]
                kind=kind,  # type: ignore[arg-type]
                settings=settings,
                decisions=decisions,
                seed=seed,
            )
        finally:
            store.close()
    if as_json:
        print_json(report)
        return
    out.print(
        f"[bold]{report['state']}[/] after {report['decisions_run']} decisions; the candidate reached "
        f"{report['exposed_customers']} of the {report['customers_who_wrote']} customers who wrote in "
        f"({report['exposed_decisions']} decisions)"
    )
    for event in report["events"]:
        out.print(
            f"  after {event['after_decisions']:>6} decisions: {event['event']} (share {event['share']:.0%})"
        )
    if report["result"]:
        out.print(f"  {report['result'].get('reason', '')}")
