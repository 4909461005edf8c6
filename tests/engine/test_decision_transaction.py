"""One transaction per decision: the decision row, its audit entry, its outbox event and the other
stages' side writes (vault values, feature events and state, learning log) commit together or not
at all — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, create_engine, func, select, text

from tactful.domain import Channel, ConversationId, CustomerId, EventId, InboundMessage, TenantId
from tactful.engine import Engine, EngineParts
from tactful.errors import StoreError
from tactful.guard.crypto import MasterKey, new_key
from tactful.guard.vault import Vault
from tactful.learn.bandit import BanditLearner
from tactful.store import SqlStore, open_store
from tactful.store.database import PreparedQuery, RawTransaction
from tactful.store.schema import (
    audit_log,
    decisions,
    events,
    feature_state,
    learning_events,
    outbox,
    vault_values,
)
from tactful.store.sql_feature_writes import DecisionFeatureWrite
from tactful.tenants import create_tenant
from tests.conftest import FixedClock, postgres_schema
from tests.store.conftest import SequentialIds

NOW = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)
#: Every table one decision of this test writes to.
WRITTEN = (decisions, audit_log, outbox, events, feature_state, learning_events, vault_values)


class World:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store: SqlStore = open_store(url, make_id=SequentialIds())
        self.tenant_id = TenantId(create_tenant(self.store, "acme").tenant.tenant_id)
        self.other_id = TenantId(create_tenant(self.store, "globex").tenant.tenant_id)
        clock = FixedClock(NOW)
        vault = Vault(self.store.vault, MasterKey(new_key(), "test key"))
        self.engine = Engine(EngineParts(self.store, clock=clock, vault=vault))
        learner = BanditLearner(self.store.learning, self.engine.policies.get, clock=clock, seed=3)
        learner.set_mode(self.tenant_id, "shadow")  # the bandit logs every decision
        self.engine.learner = learner
        self.raw = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        self._created: dict[str, int] = {}
        self._created = self.counts()

    def message(self, event_id: str = "e1", tenant_id: TenantId | None = None) -> InboundMessage:
        return InboundMessage(
            event_id=EventId(event_id),
            tenant_id=tenant_id or self.tenant_id,
            customer_id=CustomerId("c1"),
            conversation_id=ConversationId("k1"),
            channel=Channel.CHAT,
            text="Where is my parcel? Write to anna.smith@example.com please, thanks",
            sent_at=NOW,
        )

    def counts(self, tenant_id: TenantId | None = None) -> dict[str, int]:
        """Rows per table, beyond those of the tenant's creation (its audit entries)."""
        tenant = tenant_id or self.tenant_id
        with self.raw.connect() as conn:
            found = {table.name: _count(conn, table, tenant) for table in WRITTEN}
        return {name: n - self._created.get(name, 0) for name, n in found.items()}

    def close(self) -> None:
        self.engine.close()
        self.raw.dispose()


def _count(conn: Connection, table: Table, tenant_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
        ).scalar_one()
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        w = World(f"sqlite:///{tmp_path / 'tx.db'}")
        yield w
        w.close()
        return
    with postgres_schema() as url:
        w = World(url)
        yield w
        w.close()


def _fail_after(original: Callable[..., Any]) -> Callable[..., Any]:
    """The original write, then a failing statement in the same transaction (a database error
    after the side write's own rows went in: they must roll back too)."""

    def failing(tx: RawTransaction, *args: Any, **kwargs: Any) -> Any:
        original(tx, *args, **kwargs)
        tx.execute(PreparedQuery(text("INSERT INTO no_such_table VALUES (1)"), tx.engine), {})

    return failing


def test_a_decision_writes_every_row_once_in_its_transaction(world: World) -> None:
    decision = world.engine.decide(world.message())
    counts = world.counts()
    assert counts == {
        "decisions": 1,
        "audit_log": 1,
        "outbox": 1,
        "events": 2,  # the message and the decision
        "feature_state": 1,
        "learning_events": 1,
        "vault_values": 1,
    }
    assert world.engine.decide(world.message()).decision_id == decision.decision_id  # a replay
    assert world.counts() == counts
    with world.raw.connect() as conn:  # nothing under the other tenant
        assert {_count(conn, table, world.other_id) for table in WRITTEN if table is not audit_log} == {0}
    logged = world.store.learning.get_choice(world.tenant_id, decision.decision_id)
    assert logged is not None and logged.mode == "shadow"


@pytest.mark.parametrize("failing", ["vault", "features", "learning"])
def test_a_failing_side_write_rolls_the_whole_decision_back(
    world: World, failing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if failing == "features":  # a decision's feature write: its statements, then a failing one

        def complete(self: DecisionFeatureWrite, tx: RawTransaction) -> None:
            original_complete(self, tx)
            tx.execute(PreparedQuery(text("INSERT INTO no_such_table VALUES (1)"), world.raw), {})

        original_complete = DecisionFeatureWrite.complete
        monkeypatch.setattr(DecisionFeatureWrite, "complete", complete)
    else:
        target: Any = {"vault": world.store.vault, "learning": world.store.learning}[failing]
        name = {"vault": "put_values_in", "learning": "log_choice_in"}[failing]
        monkeypatch.setattr(target, name, _fail_after(getattr(target, name)))
    with pytest.raises(StoreError):
        world.engine.decide(world.message())
    assert set(world.counts().values()) == {0}, world.counts()  # no decision, no orphan row
    assert world.engine.store.get_decision_by_event(world.tenant_id, EventId("e1")) is None
    assert all(r.ok for r in world.store.audit.verify(world.tenant_id))

    monkeypatch.undo()  # the same event again, once the failure is gone: everything, exactly once
    world.engine.decide(world.message())
    assert world.counts()["decisions"] == 1
    assert world.counts()["learning_events"] == 1
    assert world.counts()["events"] == 2
    assert all(r.ok for r in world.store.audit.verify(world.tenant_id))


def test_a_feature_store_outside_the_database_is_written_after_the_decision(world: World) -> None:
    """A feature store passed in (not the store's own) cannot join the transaction: its events are
    ingested after the commit, as before, and the decision's own rows still commit as one."""
    seen: list[int] = []
    own = world.store.features

    class Elsewhere:
        def __getattr__(self, name: str) -> Any:
            return getattr(own, name)

        def ingest(self, batch: Any, *, personal: bool | None = None) -> int:
            seen.append(len(batch))
            return int(own.ingest(batch, personal=personal))

    world.engine.features = Elsewhere()  # type: ignore[assignment]
    world.engine.decide(world.message())
    assert seen[0] == 2
    assert world.counts()["events"] == 2 and world.counts()["decisions"] == 1
