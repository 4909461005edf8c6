"""``tactful keys``, ``tactful report compliance`` and ``tactful retention``.

Exit codes as everywhere: 1 a check failed (the report found a violation or a broken chain),
2 bad input, 3 the store could not be reached.
"""

# No ``from __future__ import annotations`` here: typer reads the commands' annotations at runtime,
# and the shared option types are imported inside ``register``, out of the module's globals.
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tactful.cli_support import opened_store, tenant_id_of

if TYPE_CHECKING:
    pass

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")
report_app = typer.Typer(no_args_is_help=True, help="Compliance reports from the audit log.")
retention_app = typer.Typer(no_args_is_help=True, help="Per-tenant retention and the purge that enforces it.")

RoleOption = Annotated[str, typer.Option("--role", help="decide | admin | auditor")]
CLI_ACTOR = "cli"


def _since(raw: str) -> datetime:
    from tactful.cli import fail

    try:
        parsed = datetime.fromisoformat(raw) if "T" in raw or " " in raw else None
        if parsed is None:
            d = date.fromisoformat(raw)
            parsed = datetime(d.year, d.month, d.day)
    except ValueError:
        fail(f"--since must be an ISO date (2026-01-31) or date-time, not {raw!r}", "invalid_since")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    from tactful.cli import DbOption, TenantOption

    app.add_typer(keys_app, name="keys")
    app.add_typer(report_app, name="report")
    app.add_typer(retention_app, name="retention")

    @keys_app.command("create")
    def keys_create(
        tenant: TenantOption,
        role: RoleOption = "decide",
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print {key_id, role, api_key}.")] = False,
    ) -> None:
        """Create an API key for a tenant and print it once (only a scrypt hash is stored)."""
        from tactful.cli import errors_to_exit, out, print_json
        from tactful.domain import TenantId
        from tactful.tenants import issue_key, key_id_of

        with errors_to_exit(), opened_store(db) as store:
            api_key = issue_key(store, TenantId(tenant_id_of(store, tenant)), role, by=CLI_ACTOR)
        if as_json:
            print_json({"key_id": key_id_of(api_key), "role": role, "api_key": api_key})
        else:
            out.print(f"{role} key {key_id_of(api_key)} for {tenant}")
            out.print(f"api key (shown once): [bold]{api_key}[/]")

    @keys_app.command("list")
    def keys_list(
        tenant: TenantOption,
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List a tenant's keys: id, role, revoked, created (never a secret or hash)."""
        from rich.table import Table

        from tactful.cli import errors_to_exit, out, print_json
        from tactful.domain import TenantId
        from tactful.tenants import governance_of

        with errors_to_exit(), opened_store(db) as store:
            rows = governance_of(store).list_keys(TenantId(tenant_id_of(store, tenant)))
        data = [
            {
                "key_id": r.key_id,
                "role": r.role,
                "revoked": r.revoked,
                "created_at": r.created_at.isoformat() if r.created_at else None,
            }
            for r in rows
        ]
        if as_json:
            print_json(data)
            return
        table = Table("key id", "role", "revoked", "created")
        for d in data:
            table.add_row(
                str(d["key_id"]), str(d["role"]), "yes" if d["revoked"] else "", str(d["created_at"])
            )
        out.print(table)

    @keys_app.command("revoke")
    def keys_revoke(key_id: str, tenant: TenantOption, db: DbOption = None) -> None:
        """Revoke a key: every process refuses it from its next request on."""
        from tactful.cli import errors_to_exit, out
        from tactful.domain import TenantId
        from tactful.tenants import governance_of

        with errors_to_exit(), opened_store(db) as store:
            governance_of(store).revoke_key(TenantId(tenant_id_of(store, tenant)), key_id, by=CLI_ACTOR)
        out.print(f"revoked {key_id}")

    @report_app.command("compliance")
    def report_compliance(
        tenant: TenantOption,
        since: Annotated[str, typer.Option("--since", help="ISO date or date-time (UTC if no zone).")],
        fmt: Annotated[str, typer.Option("--format", help="json | html")] = "json",
        out_file: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
        db: DbOption = None,
    ) -> None:
        """Opt-outs honoured, constraint violations (exit 1 unless 0), PII detections, erasures, changes."""
        import sys

        from tactful.cli import err, errors_to_exit, fail
        from tactful.domain import TenantId
        from tactful.governance.report import compliance_report
        from tactful.governance.report_html import render_html

        if fmt not in ("json", "html"):
            fail(f"--format must be json or html, not {fmt!r}", "invalid_format")
        start = _since(since)
        with errors_to_exit(), opened_store(db) as store:
            report = compliance_report(
                store.audit, TenantId(tenant_id_of(store, tenant)), start, now=datetime.now(UTC)
            )
        text = render_html(report) if fmt == "html" else report.model_dump_json(indent=2) + "\n"
        if out_file is None:
            sys.stdout.write(text)
        else:
            try:
                out_file.write_text(text, encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write {out_file}: {exc.strerror}", "cannot_write")
        if report.violations or not report.audit_chain_ok:
            err.print(
                f"[red]check failed[/]: {len(report.violations)} constraint violation(s); "
                f"audit chain {'ok' if report.audit_chain_ok else 'BROKEN'}"
            )
            raise typer.Exit(1)

    @retention_app.command("set")
    def retention_set(
        tenant: TenantOption,
        kind: Annotated[str, typer.Option("--kind", help="decisions | outcomes | events")],
        days: Annotated[int, typer.Option("--days", help="Keep this many days.")],
        db: DbOption = None,
    ) -> None:
        """Set how many days one kind of record is kept (audited)."""
        from tactful.cli import errors_to_exit, out
        from tactful.domain import TenantId
        from tactful.governance import retention

        with errors_to_exit(), opened_store(db) as store:
            retention.set_retention(store, TenantId(tenant_id_of(store, tenant)), kind, days, by=CLI_ACTOR)
        out.print(f"{tenant}: keep {kind} {days} days")

    @retention_app.command("show")
    def retention_show(tenant: TenantOption, db: DbOption = None) -> None:
        """Print retention per kind as JSON (null: kept until erased)."""
        from tactful.cli import errors_to_exit, print_json
        from tactful.domain import TenantId
        from tactful.governance import retention

        with errors_to_exit(), opened_store(db) as store:
            print_json(retention.retention(store, TenantId(tenant_id_of(store, tenant))))

    @retention_app.command("purge")
    def retention_purge(
        tenant: TenantOption,
        db: DbOption = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Delete what is older than the tenant's retention; idempotent; writes an audit entry."""
        from tactful.cli import errors_to_exit, out, print_json
        from tactful.domain import TenantId
        from tactful.governance import retention

        with errors_to_exit(), opened_store(db) as store:
            counts = retention.purge(
                store, TenantId(tenant_id_of(store, tenant)), now=datetime.now(UTC), by=CLI_ACTOR
            )
        rows = [
            {"kind": c.kind, "table": c.table, "rows": c.deleted, "cutoff": c.cutoff.isoformat()}
            for c in counts
        ]
        if as_json:
            print_json(rows)
            return
        if not rows:
            out.print("no retention set for this tenant: nothing purged")
        for r in rows:
            out.print(f"{r['kind']}: {r['rows']} row(s) from {r['table']} older than {r['cutoff']}")
