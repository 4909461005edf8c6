"""The ``tactful`` command line (typer + rich).

Exit codes: 0 success; 1 a check failed (``audit verify`` found tampering, ``policy validate`` found
an error); 2 bad input or usage (the message names the problem and its ``code``); 3 a store or
service could not be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from tactful.cli_support import tenant_id_of
from tactful.config import Settings
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    EventId,
    InboundMessage,
    TenantId,
    new_id,
)
from tactful.errors import InputRejected, NotFound, PolicyError, StoreError, TactfulError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.split("\n")[0])
tenants_app = typer.Typer(no_args_is_help=True, help="Tenants and their API keys.")
policy_app = typer.Typer(no_args_is_help=True, help="Validate, publish, activate and roll back policies.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
app.add_typer(tenants_app, name="tenants")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
eval_app = typer.Typer(no_args_is_help=True, help="Measure models and policies on labelled data or logs.")
app.add_typer(eval_app, name="eval")

# Piped or captured output (CI logs) would otherwise be cut to 80 columns.
out = Console() if sys.stdout.isatty() else Console(width=180)
err = Console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        from tactful import __version__

        out.print(f"tactful {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The tactful command line."""


DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $TACTFUL_DATABASE_URL or sqlite:///./tactful.db)."),
]
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant name.")]


def fail(message: str, code: str, exit_code: int = 2) -> NoReturn:
    err.print(f"[bold red]error[/] {escape(f'[{code}]')}: {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(exit_code)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    try:
        yield
    except PolicyError as exc:
        fail(exc.message, exc.code, 1)
    except StoreError as exc:
        fail(exc.message, exc.code, 3)
    except TactfulError as exc:
        fail(exc.message, exc.code, 2)


def settings_for(db: str | None) -> Settings:
    with errors_to_exit():
        return Settings.from_env(database_url=db)


def _open_engine(db: str | None):  # type: ignore[no-untyped-def]
    from tactful.engine import Engine

    return Engine.from_settings(settings_for(db))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# -- serve / decide / demo ----------------------------------------------------------------------


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    start_timeout: Annotated[
        int, typer.Option(help="Seconds a worker may take to start (import, load and warm its models).")
    ] = 120,
) -> None:
    """Run the HTTP API (uvicorn). A process answers /readyz once its models are loaded."""
    import os

    import uvicorn

    from tactful.api.app import create_app

    settings = settings_for(db)
    loop, http = server_implementations()
    if workers == 1:
        uvicorn.run(
            create_app(settings=settings), host=host, port=port, log_level="info", loop=loop, http=http
        )
        return
    # Several workers each import the app: they read their settings from the environment.
    os.environ.update(settings.as_environment())
    # The supervisor pings each worker; one that has not answered within the health-check timeout
    # is killed and replaced. Importing the app and warming its models takes longer than uvicorn's
    # 5 s default on a busy machine, which killed every worker during start-up (issue 13).
    uvicorn.run(
        "tactful.api.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="info", timeout_worker_healthcheck=start_timeout, loop=loop, http=http,
    )  # fmt: skip


def server_implementations() -> tuple[str, str]:
    """uvicorn's event loop and HTTP parser: uvloop and httptools (runtime dependencies) when they
    import, else the pure-Python asyncio and h11. Measured in docs/performance.md (issue 12)."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") is not None else "h11"
    return loop, http


@app.command()
def decide(
    text: Annotated[str | None, typer.Option(help="Message text (else a JSON message on stdin).")] = None,
    channel: Annotated[str, typer.Option(help="Channel the customer wrote on.")] = "chat",
    customer: Annotated[str, typer.Option(help="Customer id.")] = "cli-customer",
    conversation: Annotated[str | None, typer.Option(help="Conversation id.")] = None,
    tenant: TenantOption = "demo",
    db: DbOption = None,
) -> None:
    """Decide for one message and print the decision as JSON."""
    from tactful.api.dto import MessageIn

    if text is None:
        raw = sys.stdin.read()
        try:
            body = MessageIn.model_validate_json(raw)
        except ValueError as exc:
            fail(f"stdin is not a valid message: {exc}", "invalid_message")
    else:
        if channel not in {c.value for c in Channel}:
            fail(
                f"unknown channel {channel!r}; one of {', '.join(c.value for c in Channel)}",
                "unknown_channel",
            )
        try:
            body = MessageIn(
                customer_id=customer,
                conversation_id=conversation or f"conv-{customer}",
                channel=Channel(channel),
                text=text,
            )
        except ValueError as exc:
            fail(str(exc), "invalid_message")
    with errors_to_exit():
        engine = _open_engine(db)
        try:
            tenant_id = tenant_id_of(engine.store, tenant)
            message = InboundMessage(
                event_id=EventId(body.event_id or new_id("evt")),
                tenant_id=tenant_id,
                customer_id=CustomerId(body.customer_id),
                conversation_id=ConversationId(body.conversation_id),
                channel=body.channel,
                text=body.text,
                sent_at=body.sent_at or datetime.now(UTC),
            )
            decision = engine.decide(message)
        finally:
            engine.close()
    sys.stdout.write(decision.model_dump_json(indent=2) + "\n")


@app.command()
def demo(
    db: DbOption = None,
    data: Annotated[Path | None, typer.Option(help="twitter-customer-care-cdp dev.json to replay.")] = None,
    show: Annotated[int, typer.Option(help="How many decisions to print in the table.")] = 25,
) -> None:
    """Seed a demo tenant and customers, replay real customer messages, show the decisions."""
    from tactful.demo import run_demo

    with errors_to_exit():
        ok = run_demo(settings_for(db), data_path=data, show=show, console=out)
    if not ok:
        raise typer.Exit(1)


# -- tenants ------------------------------------------------------------------------------------


@tenants_app.command("create")
def tenants_create(
    name: str,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {tenant_id, api_key} as JSON.")] = False,
    policy: Annotated[
        Path | None, typer.Option(help="Initial policy YAML (default: the shipped one).")
    ] = None,
) -> None:
    """Create a tenant with an admin API key (shown once) and the default policy active."""
    from tactful.store import open_store
    from tactful.tenants import create_tenant

    with errors_to_exit():
        settings = settings_for(db)
        store = open_store(settings.database_url)
        try:
            created = create_tenant(store, name, policy_path=policy or settings.default_policy_path)
        finally:
            store.close()
    if as_json:
        print_json({"tenant_id": created.tenant.tenant_id, "name": name, "api_key": created.api_key})
    else:
        out.print(f"tenant [bold]{name}[/] ({created.tenant.tenant_id})")
        out.print(f"api key (shown once): [bold]{created.api_key}[/]")


@tenants_app.command("list")
def tenants_list(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Every tenant: id, name, created (keys are listed by `tactful keys list --tenant T`)."""
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(settings_for(db).database_url)
        try:
            found = store.list_tenants()
        finally:
            store.close()
    rows = [{"tenant_id": t.tenant_id, "name": t.name, "created_at": t.created_at.isoformat()} for t in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no tenants (create one: tactful tenants create NAME)")
    for row in rows:
        out.print(f"{row['tenant_id']}  {escape(row['name'])}  created {row['created_at']}")


# -- policy -------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputRejected(f"cannot read {path}: {exc}", code="unreadable_file") from exc


@policy_app.command("validate")
def policy_validate(path: Path) -> None:
    """Check a policy file: schema, CEL conditions. Exit 1 with file:line and rule id on error."""
    from tactful.policy import content_hash, lifecycle

    with errors_to_exit():
        source = _read(path)
        compiled = lifecycle.validate(source, source_name=str(path))
    out.print(f"[green]valid[/]: {path} ({len(compiled.rule_ids)} rules, sha256 {content_hash(source)[:12]})")


@policy_app.command("publish")
def policy_publish(
    path: Path,
    tenant: TenantOption = "demo",
    db: DbOption = None,
    activate: Annotated[bool, typer.Option(help="Activate it too.")] = False,
) -> None:
    """Publish a policy file as a new immutable version."""
    from tactful.policy import lifecycle
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(settings_for(db).database_url)
        try:
            tenant_id = tenant_id_of(store, tenant)
            version, created = lifecycle.publish(
                store, tenant_id, _read(path), by="cli", source_name=str(path)
            )
            if activate:
                version = lifecycle.activate(store, tenant_id, version.version, by="cli")
                _announce_policy_change(db, tenant_id)
        finally:
            store.close()
    state = "published" if created else "already published"
    out.print(f"{state}: {tenant} {version.label}" + (" (active)" if version.active else ""))


def _announce_policy_change(db: str | None, tenant_id: TenantId) -> None:
    """Running API processes drop their cached active policy at once (on a NATS bus; without one
    they find the change by their version check)."""
    from tactful.invalidation import announce_elsewhere

    announce_elsewhere(settings_for(db).bus_url, "policy", tenant_id)


@policy_app.command("activate")
def policy_activate(version: int, tenant: TenantOption = "demo", db: DbOption = None) -> None:
    """Make a published version the active one."""
    from tactful.policy import lifecycle
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(settings_for(db).database_url)
        try:
            tenant_id = tenant_id_of(store, tenant)
            done = lifecycle.activate(store, tenant_id, version, by="cli")
            _announce_policy_change(db, tenant_id)
        finally:
            store.close()
    out.print(f"active: {tenant} {done.label}")


@policy_app.command("rollback")
def policy_rollback(tenant: TenantOption = "demo", db: DbOption = None) -> None:
    """Re-activate the newest version older than the active one."""
    from tactful.policy import lifecycle
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(settings_for(db).database_url)
        try:
            tenant_id = tenant_id_of(store, tenant)
            done = lifecycle.rollback(store, tenant_id, by="cli")
            _announce_policy_change(db, tenant_id)
        finally:
            store.close()
    out.print(f"rolled back: {tenant} now runs {done.label}")


@policy_app.command("list")
def policy_list(tenant: TenantOption = "demo", db: DbOption = None) -> None:
    """List a tenant's policy versions."""
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(settings_for(db).database_url)
        try:
            versions = store.list_policies(tenant_id_of(store, tenant))
        finally:
            store.close()
    for v in versions:
        marker = "*" if v.active else " "
        out.print(f"{marker} {v.label}  {v.created_at:%Y-%m-%d %H:%M}  by {v.created_by}", highlight=False)


@policy_app.command("show")
def policy_show(
    tenant: TenantOption = "demo",
    db: DbOption = None,
    version: Annotated[int | None, typer.Option(help="Version (default: the active one).")] = None,
) -> None:
    """Print a published policy's YAML."""
    from tactful.store import open_store

    with errors_to_exit():
        store = open_store(settings_for(db).database_url)
        try:
            found = store.get_policy(tenant_id_of(store, tenant), version)
        finally:
            store.close()
        if found is None:
            raise NotFound(
                f"no policy version {version}" if version else "no active policy",
                code="policy_version_not_found",
            )
    err.print(f"# {tenant} {found.label}" + (" (active)" if found.active else ""))
    sys.stdout.write(found.source if found.source.endswith("\n") else found.source + "\n")


@policy_app.command("diff")
def policy_diff(
    old: Annotated[str, typer.Argument(help="A policy file, or a version number of --tenant.")],
    new: Annotated[str, typer.Argument(help="A policy file, or a version number of --tenant.")],
    tenant: TenantOption = "demo",
    db: DbOption = None,
) -> None:
    """Rule-level differences between two policies (files or published versions)."""
    from tactful.policy import diff_policies

    with errors_to_exit():
        sources = [_policy_source(ref, tenant, db) for ref in (old, new)]
        lines = diff_policies(sources[0], sources[1])
    for line in lines or ["(no rule-level differences)"]:
        out.print(line, highlight=False)


def _policy_source(ref: str, tenant: str, db: str | None) -> str:
    if not ref.isdigit():
        return _read(Path(ref))
    from tactful.store import open_store

    store = open_store(settings_for(db).database_url)
    try:
        found = store.get_policy(tenant_id_of(store, tenant), int(ref))
    finally:
        store.close()
    if found is None:
        raise NotFound(f"no policy version {ref}", code="policy_version_not_found")
    return found.source


def main() -> None:  # pragma: no cover - the console script calls ``app``
    app()


# -- commands that live beside the stage they drive ---------------------------------------------------
# Each module defines ``register(app, eval_app)`` and imports what it needs from this module inside
# its commands; the registrations sit at the end so those names already exist.
from tactful.governance.cli import register as _register_governance  # noqa: E402  (issue 5)

_register_governance(app, eval_app)
from tactful.context.cli import register as _register_context  # noqa: E402  (issue 6)

_register_context(app, eval_app)
from tactful.learn.commands import register as _register_learning  # noqa: E402  (issue 4)

_register_learning(app, eval_app)
from tactful.guard.cli import register as _register_customers  # noqa: E402  (issue 5: erase/export)

_register_customers(app, eval_app)
from tactful.signals.commands import register as _register_signals  # noqa: E402  (issue 3)

_register_signals(app, eval_app)
from tactful.commands.experiments import register as _register_experiments  # noqa: E402  (issue 15)

_register_experiments(app, eval_app)
from tactful.commands.knowledge import register as _register_knowledge  # noqa: E402  (issue 14)

_register_knowledge(app, eval_app)
from tactful.commands.audit import register as _register_audit  # noqa: E402  (issue 11)

_register_audit(audit_app)
from tactful.commands.decisions import register as _register_decisions  # noqa: E402  (issue 10)

_register_decisions(app, eval_app)
from tactful.commands.worker import register as _register_worker  # noqa: E402  (issue 13)

_register_worker(app, eval_app)
