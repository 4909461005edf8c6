"""Fixtures for the vault tests: a store on each backend (SQLite file, PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tactful.store import SqlStore, open_store
from tests.conftest import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'vault.db'}")
        yield store
        store.close()
        return
    with postgres_schema() as url:
        store = open_store(url)
        yield store
        store.close()
