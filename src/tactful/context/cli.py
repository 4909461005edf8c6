"""``tactful features ...`` (rebuild, publish, backfill, activate, list) and ``tactful context show``.

Exit codes as everywhere: 1 a check failed, 2 bad input, 3 the store could not be reached.
"""

# No ``from __future__ import annotations``: typer reads the commands' annotations at runtime.
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tactful.cli_support import opened_store, tenant_id_of

if TYPE_CHECKING:
    from tactful.context.feature_store import Progress, RebuildReport

features_app = typer.Typer(no_args_is_help=True, help="Feature store: definitions, backfill and rebuild.")
context_app = typer.Typer(no_args_is_help=True, help="What a decision knows about a customer.")
CLI_ACTOR = "cli"


def parse_when(raw: str, option: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when it names no zone)."""
    from tactful.cli import fail

    try:
        if "T" in raw or " " in raw:
            parsed = datetime.fromisoformat(raw)
        else:
            d = date.fromisoformat(raw)
            parsed = datetime(d.year, d.month, d.day)
    except ValueError:
        fail(f"{option} must be an ISO date (2026-01-31) or date-time, not {raw!r}", "invalid_date")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    from tactful.cli import DbOption, TenantOption

    app.add_typer(features_app, name="features")
    app.add_typer(context_app, name="context")

    AllTenants = Annotated[
        str | None, typer.Option("--tenant", help="Tenant name; all tenants when omitted.")
    ]

    @features_app.command("rebuild")
    def features_rebuild(
        tenant: AllTenants = None,
        since: Annotated[
            str | None, typer.Option("--since", help="Only customers with events since DATE.")
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Recompute every live feature version's state from the stored events (safe under traffic),
        and refill the hot store (TACTFUL_HOT_STORE_URL) with it when one is configured."""
        from tactful.cli import errors_to_exit, out
        from tactful.config import Settings
        from tactful.hot import HotPath

        since_at = parse_when(since, "--since") if since else None
        settings = Settings.from_env()
        with errors_to_exit(), opened_store(db) as store:
            tenant_id = tenant_id_of(store, tenant) if tenant else None
            if settings.hot_store_url is None:
                rebuild = store.features.rebuild
            else:
                hot = HotPath.open(settings.hot_store_url, store.features, prefix=settings.hot_store_prefix)
                rebuild = hot.features.rebuild
            try:
                report = _with_progress(lambda p: rebuild(tenant_id, since=since_at, progress=p))
            finally:
                if settings.hot_store_url is not None:
                    hot.close()
        rate = report.events / report.seconds if report.seconds else 0.0
        refilled = "" if settings.hot_store_url is None else f"; hot store {hot.store.where} refilled"
        out.print(
            f"rebuilt {report.customers} customers of {report.tenants} tenant(s) from {report.events} events "
            f"in {report.seconds:.2f} s ({rate:,.0f} events/s){refilled}"
        )

    @features_app.command("publish")
    def features_publish(path: Path, tenant: TenantOption = "demo", db: DbOption = None) -> None:
        """Validate and store a definition set (YAML) as the tenant's next version; not yet live."""
        from tactful.cli import errors_to_exit, fail, out

        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror}", "unreadable_file")
        with errors_to_exit(), opened_store(db) as store:
            record = store.features.publish_definitions(tenant_id_of(store, tenant), source, by=CLI_ACTOR)
        out.print(
            f"feature definitions v{record.version} ({record.status}); "
            f"next: tactful features backfill {record.version}"
        )

    @features_app.command("backfill")
    def features_backfill(version: int, tenant: TenantOption = "demo", db: DbOption = None) -> None:
        """Compute a published version from all stored events, so it can be activated with full history."""
        from tactful.cli import errors_to_exit, out

        with errors_to_exit(), opened_store(db) as store:
            tenant_id = tenant_id_of(store, tenant)
            report = _with_progress(lambda p: store.features.backfill(tenant_id, version, progress=p))
        out.print(
            f"v{version} backfilled: {report.customers} customers, {report.events} events; ready to activate"
        )

    @features_app.command("activate")
    def features_activate(version: int, tenant: TenantOption = "demo", db: DbOption = None) -> None:
        """Make a backfilled version the one decisions read."""
        from tactful.cli import errors_to_exit, out

        with errors_to_exit(), opened_store(db) as store:
            record = store.features.activate_definitions(tenant_id_of(store, tenant), version)
        out.print(f"feature definitions v{record.version} are {record.status}")

    @features_app.command("list")
    def features_list(
        tenant: TenantOption = "demo",
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """The tenant's definition versions (the shipped default is version 0)."""
        from tactful.cli import errors_to_exit, out, print_json

        with errors_to_exit(), opened_store(db) as store:
            tenant_id = tenant_id_of(store, tenant)
            records = store.features.list_definitions(tenant_id)
            active = store.features.definitions(tenant_id)
        rows = [
            {"version": r.version, "hash": r.content_hash[:8], "status": r.status, "by": r.created_by}
            for r in records
        ]
        if as_json:
            print_json({"active": active.label, "versions": rows})
            return
        out.print(f"active: {active.label}")
        for row in rows:
            out.print(f"v{row['version']}  {row['hash']}  {row['status']}  by {row['by']}")

    @context_app.command("show")
    def context_show(
        customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
        tenant: TenantOption = "demo",
        as_of: Annotated[str | None, typer.Option("--as-of", help="Features as known at DATE-TIME.")] = None,
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the context as JSON.")] = False,
    ) -> None:
        """Profile, preferences and features with their as-of times, freshness and definition version."""
        from tactful.api.context import read_context
        from tactful.cli import errors_to_exit, out, print_json

        at = parse_when(as_of, "--as-of") if as_of else None
        with errors_to_exit(), opened_store(db) as store:
            shown = read_context(store.features, tenant_id_of(store, tenant), customer, datetime.now(UTC), at)
        document = shown.model_dump(mode="json")
        if as_json:
            print_json(document)
            return
        out.print(
            f"customer {shown.customer_id} (personalisation {shown.personalisation}; "
            f"definitions {shown.definitions}; read at {shown.read_at.isoformat()})"
        )
        for name, value in shown.features.items():
            flag = (
                " [yellow]stale: default[/]"
                if value.stale
                else (" [dim]no events[/]" if value.missing else "")
            )
            when = value.as_of.isoformat() if value.as_of else "-"
            out.print(f"  {name:28} {value.value!r:>24}  as of {when}{flag}")


def _with_progress(run: "Callable[[Progress], RebuildReport]") -> "RebuildReport":
    """Run ``run(progress_callback)`` under a rich progress bar (customers done / total)."""
    from rich.progress import Progress as ProgressBar

    with ProgressBar(transient=True) as bar:
        task = bar.add_task("features", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(progress)
