"""Fixtures shared by the engine, API and CLI tests: a real SQLite store in a temp folder, a demo
tenant with the shipped default policy, and a controllable clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tactful.domain import (
    Channel,
    ConversationId,
    Customer,
    CustomerId,
    EventId,
    InboundMessage,
    TenantId,
    new_id,
)
from tactful.engine import Engine, EngineParts
from tactful.store import open_store
from tactful.store.base import Store
from tactful.tenants import NewTenant, create_tenant

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A store URL on the PostgreSQL server here, in a fresh schema dropped afterwards.

    Skips (with the reason) only when the server is truly unreachable."""
    try:
        with psycopg.connect(PG_SERVER, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")
    schema = f"tactful_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(autouse=True, scope="session")
def _key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Generated keys (audit head key, vault master key) go to a temporary folder, never to the
    home directory of whoever runs the tests; subprocesses inherit it."""
    import os

    previous = os.environ.get("TACTFUL_KEY_DIR")
    os.environ["TACTFUL_KEY_DIR"] = str(tmp_path_factory.mktemp("keys"))
    yield
    if previous is None:
        os.environ.pop("TACTFUL_KEY_DIR", None)
    else:
        os.environ["TACTFUL_KEY_DIR"] = previous


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tactful.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> FixedClock:
    # A Wednesday, 15:00 UTC: outside everyone's default quiet hours in Europe and the Americas.
    return FixedClock(datetime(2026, 6, 17, 15, 0, tzinfo=UTC))


@pytest.fixture
def tenant(store: Store) -> NewTenant:
    return create_tenant(store, "acme")


@pytest.fixture
def engine(store: Store, clock: FixedClock) -> Engine:
    return Engine(EngineParts(store, clock=clock))


MessageFactory = Callable[..., InboundMessage]


@pytest.fixture
def message(tenant: NewTenant, clock: FixedClock) -> MessageFactory:
    def make(
        text: str = "Hi, where is my order?",
        *,
        channel: Channel = Channel.CHAT,
        customer: str = "cust-1",
        conversation: str = "conv-1",
        event_id: str | None = None,
        tenant_id: str | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            event_id=EventId(event_id or new_id("evt")),
            tenant_id=TenantId(tenant_id or tenant.tenant.tenant_id),
            customer_id=CustomerId(customer),
            conversation_id=ConversationId(conversation),
            channel=channel,
            text=text,
            sent_at=clock.now,
        )

    return make


def put_customer(store: Store, tenant_id: str, customer_id: str, **fields: object) -> Customer:
    return store.put_customer(
        Customer.model_validate({"tenant_id": tenant_id, "customer_id": customer_id, **fields})
    )
