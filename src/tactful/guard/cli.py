"""``tactful customers erase|export``: the data-subject rights from the command line."""

# No ``from __future__ import annotations``: typer reads the annotations at runtime.
from typing import Annotated

import typer

customers_app = typer.Typer(no_args_is_help=True, help="Data-subject rights: export and erase a customer.")
CustomerArg = Annotated[str, typer.Argument(help="The customer id.")]


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    from tactful.cli import DbOption, TenantOption

    @customers_app.command("export")
    def export(customer_id: CustomerArg, tenant: TenantOption, db: DbOption = None) -> None:
        """Print everything held about the customer as JSON (exit 2 with customer_not_found once erased)."""
        from tactful.cli import errors_to_exit, print_json
        from tactful.domain import CustomerId
        from tactful.subjects import export_customer

        with errors_to_exit():
            engine = _engine(db)
            try:
                print_json(export_customer(engine, _tenant(engine, tenant), CustomerId(customer_id)))
            finally:
                engine.close()

    @customers_app.command("erase")
    def erase(
        customer_id: CustomerArg,
        tenant: TenantOption,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
        db: DbOption = None,
    ) -> None:
        """Crypto-shred the customer: destroy their data key, vault values and profile (audited)."""
        from tactful.cli import errors_to_exit, print_json
        from tactful.domain import CustomerId
        from tactful.subjects import erase_customer

        if not yes:
            typer.confirm(f"Erase customer {customer_id!r} of {tenant!r}? This cannot be undone", abort=True)
        with errors_to_exit():
            engine = _engine(db)
            try:
                done = erase_customer(engine, _tenant(engine, tenant), CustomerId(customer_id), by="cli")
            finally:
                engine.close()
        print_json(
            {
                "erased": customer_id,
                "key_destroyed": done.key_destroyed,
                "profile_deleted": done.profile_deleted,
                "values_deleted": done.values_deleted,
                "erased_at": done.erased_at.isoformat(),
            }
        )

    app.add_typer(customers_app, name="customers")


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from tactful.cli import settings_for
    from tactful.engine import Engine

    return Engine.from_settings(settings_for(db))


def _tenant(engine, name: str):  # type: ignore[no-untyped-def]
    from tactful.cli_support import tenant_id_of

    return tenant_id_of(engine.store, name)
