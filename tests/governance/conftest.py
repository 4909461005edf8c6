"""Fixtures for the governance tests: a store on SQLite and on PostgreSQL, and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.domain import TenantId
from tactful.engine import Engine, EngineParts
from tactful.store import SqlStore, open_store
from tactful.tenants import create_tenant, issue_key
from tests.api.conftest import Client
from tests.conftest import postgres_schema

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def gurl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gov.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def gstore(gurl: str, clock: Clock) -> Iterator[SqlStore]:
    store = open_store(gurl, clock=clock)
    yield store
    store.close()


@dataclass
class Api:
    """The HTTP app in-process over one SQLite store, with a tenant and a key of every role."""

    client: Client
    store: SqlStore
    engine: Engine
    tenant_id: TenantId
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def api(tmp_path: Path, clock: Clock) -> Iterator[Api]:
    store = open_store(f"sqlite:///{tmp_path / 'api.db'}", clock=clock)
    engine = Engine(EngineParts(store, clock=clock))
    created = create_tenant(store, "acme")
    tid = created.tenant.tenant_id
    keys = {"admin": created.api_key, **{r: issue_key(store, tid, r) for r in ("decide", "auditor")}}
    client = Client(create_app(engine, Settings()))
    try:
        yield Api(client, store, engine, tid, keys)
    finally:
        client.close()
        store.close()
