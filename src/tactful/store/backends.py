"""The one registry of storage backends, keyed by URL scheme and imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from sqlalchemy.exc import ArgumentError

from tactful.errors import InputRejected
from tactful.store.database import Database

#: URL scheme → module providing ``open_database(url) -> Database``.
BACKENDS: dict[str, str] = {
    "sqlite": "tactful.store.sqlite",
    "postgresql": "tactful.store.postgres",
    "postgresql+psycopg": "tactful.store.postgres",
    "postgres": "tactful.store.postgres",
}

SUPPORTED = "sqlite:///path.db, sqlite:///:memory:, postgresql://user@host/db"


def open_database(url: str) -> Database:
    scheme, sep, _ = url.partition("://")
    module_name = BACKENDS.get(scheme.lower()) if sep else None
    if module_name is None:
        shown = scheme if sep else url[:40]
        raise InputRejected(
            f"unsupported store URL {shown!r}: supported schemes are {SUPPORTED}",
            code="unsupported_store_url",
        )
    opener = cast(Callable[[str], Database], importlib.import_module(module_name).open_database)
    try:
        return opener(url)
    except ArgumentError as exc:
        raise InputRejected(f"malformed {scheme} store URL: {exc}", code="unsupported_store_url") from exc
