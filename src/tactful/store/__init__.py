"""Durable state behind one URL: tenants, keys, customers, policies, decisions, outcomes, audit, outbox.

``open_store("sqlite:///tactful.db")`` (or ``"postgresql://user@host/db"``) migrates the database
and returns a ``SqlStore``; ``store.audit`` is the tenant-scoped hash-chained audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tactful.config import Settings
from tactful.domain import new_id
from tactful.store.backends import BACKENDS, open_database
from tactful.store.base import (
    ApiKeyRecord,
    AuditEntry,
    AuditLog,
    AuditVerification,
    PolicyVersion,
    Store,
    Tenant,
)
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.migrate import upgrade_to_head
from tactful.store.signing import chain_config
from tactful.store.sql import SqlStore, utc_now

__all__ = [
    "BACKENDS",
    "ApiKeyRecord",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "PolicyVersion",
    "SqlStore",
    "Store",
    "Tenant",
    "open_store",
]


def open_store(
    url: str,
    *,
    clock: Callable[[], datetime] = utc_now,
    make_id: Callable[[str], str] = new_id,
    settings: Settings | None = None,
) -> SqlStore:
    """Open the store at ``url``, migrate its schema to the newest version and return it.

    Unknown schemes raise ``InputRejected(code="unsupported_store_url")``; an unreachable database
    raises ``StoreError``. ``clock`` and ``make_id`` are injectable for deterministic tests.
    ``settings`` (else the environment's) give the audit chains' shard count and head key.
    """
    settings = settings or Settings.from_env(database_url=url)
    chain = chain_config(settings)
    database = open_database(url)
    database.chain = chain
    database.key_dir = settings.key_dir
    try:
        translate_driver_errors(upgrade_to_head)(database)
    except BaseException:
        database.close()
        raise
    return SqlStore(database, clock=clock, make_id=make_id)
