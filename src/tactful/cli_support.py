"""What every group of ``tactful`` commands needs: the store named on the command line and a tenant
looked up by name. Kept apart from ``tactful.cli`` so the stage modules that add commands can import
it at module level without an import cycle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tactful.config import Settings
from tactful.domain import TenantId
from tactful.errors import NotFound
from tactful.store import SqlStore, open_store


@contextmanager
def opened_store(db: str | None) -> Iterator[SqlStore]:
    """The store at ``--db`` (else the configured URL), closed afterwards."""
    store = open_store(Settings.from_env(database_url=db).database_url)
    try:
        yield store
    finally:
        store.close()


def tenant_id_of(store: Any, name: str) -> TenantId:
    """The id of the tenant called ``name``; ``NotFound`` (exit 2) naming how to create it."""
    tenant = store.find_tenant_by_name(name)
    if tenant is None:
        raise NotFound(
            f"no tenant named {name!r} (create it: tactful tenants create {name})", code="tenant_not_found"
        )
    return TenantId(tenant.tenant_id)
