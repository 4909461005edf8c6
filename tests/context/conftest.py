"""Fixtures: a store on each backend (SQLite file and a fresh PostgreSQL schema) with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tactful.store import SqlStore, open_store
from tests.conftest import postgres_schema
from tests.context.builders import T0


class MovableClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path, clock: MovableClock) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'features.db'}", clock=clock)
        try:
            yield store
        finally:
            store.close()
        return
    with postgres_schema() as url:
        store = open_store(url, clock=clock)
        try:
            yield store
        finally:
            store.close()
