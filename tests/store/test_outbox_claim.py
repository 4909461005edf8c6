"""The relay's claim and mark (store/sql_outbox.py), on SQLite and PostgreSQL: one ``UPDATE …
RETURNING`` claim and one mark per chunk, events handed out in commit order, a chunk claimed and
never marked (the relay died) handed out again after its lease, and the relay draining in chunks
while publishing the stored JSON as it is."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import delete, select, text

from tactful.bus import InProcessBus
from tactful.bus.relay import OutboxRelay
from tactful.domain import DecisionId, Envelope, TenantId
from tactful.store import SqlStore, open_store
from tactful.store.migrate import alembic_config
from tactful.store.roundtrips import RoundTrips
from tactful.store.schema import decisions, outbox
from tests.conftest import postgres_schema
from tests.engine.test_round_trips import _prepared_alone
from tests.store.conftest import Backend, DecisionFactory, SteppingClock


def _record(store: SqlStore, make_decision: DecisionFactory, n: int) -> list[str]:
    """``n`` decisions in ``n`` transactions; their decision ids in commit order."""
    tenant = store.create_tenant("acme")
    made = [make_decision(tenant.tenant_id, conversation_id=f"conv_{i % 3}") for i in range(n)]
    for decision in made:
        store.record_decision(decision, {})
    return [d.decision_id for d in made]


def _decision_ids(chunk: list[tuple[int, str]]) -> list[str]:
    return [json.loads(stored)["payload"]["decision_id"] for _, stored in chunk]


def test_chunks_come_out_in_commit_order_and_each_claim_marks_the_previous_chunk(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 7)
    seen: list[str] = []
    done: list[int] = []
    sizes: list[int] = []
    while chunk := store.claim_outbox(3, published=done):
        ids = [i for i, _ in chunk]
        assert ids == sorted(ids)
        sizes.append(len(chunk))
        seen += _decision_ids(chunk)
        done = ids
        # Only the chunk in hand is unpublished; everything before it was marked by this claim.
        assert store.pending_outbox() == len(committed) - len(seen) + len(chunk)
    assert sizes == [3, 3, 1]
    assert seen == committed
    assert store.pending_outbox() == 0


def test_a_chunk_claimed_and_never_marked_is_handed_out_again_after_its_lease(
    store: SqlStore, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 5)
    first = store.claim_outbox(2)
    # The relay "crashes" here: published (or not), never marked. Its lease holds the chunk back
    # from other relays, which go on with the later events in order.
    second = store.claim_outbox(10)
    assert _decision_ids(second) == committed[2:]
    assert store.claim_outbox(10, published=[i for i, _ in second]) == []
    clock.advance(timedelta(seconds=31))  # past the 30 s lease
    again = store.claim_outbox(10)
    assert again == first  # the same rows, the same stored bytes, in the same order
    assert store.claim_outbox(10, published=[i for i, _ in again]) == []
    clock.advance(timedelta(minutes=5))
    assert store.claim_outbox(10) == [] and store.pending_outbox() == 0  # marked: never again


def test_release_gives_a_chunk_back_at_once_and_marks_what_went_out(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 4)
    chunk = store.claim_outbox(4)
    ids = [i for i, _ in chunk]
    store.release_outbox(ids[2:], published=ids[:2])
    assert store.pending_outbox() == 2
    assert _decision_ids(store.claim_outbox(10)) == committed[2:]  # no lease to wait out


class EncodedBus(InProcessBus):
    """An in-process bus that also takes encoded events (as NATS does), recording the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[bytes] = []

    def publish_encoded(self, envelope: Envelope, data: bytes) -> None:
        self.encoded.append(data)
        self.publish(envelope)


class CountingOutbox:
    """The store's outbox, recording every claim's size (the relay's chunks)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.claims: list[int] = []

    def claim_outbox(self, limit: int, published: list[int] | tuple[()] = ()) -> list[tuple[int, str]]:
        chunk = self._store.claim_outbox(limit, published)
        self.claims.append(len(chunk))
        return chunk

    def mark_published(self, ids: list[int]) -> None:
        self._store.mark_published(ids)

    def release_outbox(self, ids: list[int], published: list[int] | tuple[()] = ()) -> None:
        self._store.release_outbox(ids, published)


def test_the_relay_drains_in_bounded_chunks_publishing_the_stored_bytes_in_order(
    store: SqlStore, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 9)
    stored = [s for _, s in store.claim_outbox(100)]  # the rows as the decisions stored them
    bus = EncodedBus()
    seen: list[Envelope] = []
    bus.subscribe("decision.made", seen.append, group="test")
    outbox = CountingOutbox(store)
    relay = OutboxRelay(outbox, bus, background=False, batch=4)
    assert relay.drain() == 0  # still leased by the claim above
    clock.advance(timedelta(seconds=31))  # the lease lapses: the relay takes them again
    assert relay.drain() == 9
    assert outbox.claims[-4:] == [4, 4, 1, 0]  # bounded chunks; the empty claim marks the last
    assert [e.payload["decision_id"] for e in seen] == committed
    assert [b.decode() for b in bus.encoded] == stored  # sent as stored, not re-serialised
    assert store.pending_outbox() == 0


@pytest.mark.postgres
def test_a_claim_with_its_mark_is_one_round_trip_on_postgresql(make_decision: DecisionFactory) -> None:
    with postgres_schema() as url:
        store = open_store(url, clock=SteppingClock())
        assert isinstance(store, SqlStore)
        counter = RoundTrips(store._db)
        try:
            _record(store, make_decision, 12)
            done: list[int] = []
            counts: list[int] = []
            while True:
                with counter.counting():
                    chunk = store.claim_outbox(2, published=done)
                # BEGIN, the mark, the claim and COMMIT leave together; only a statement's first
                # preparation on a pooled connection takes a round trip of its own.
                counts.append(counter.count() - _prepared_alone(counter.sent()))
                if not chunk:
                    break
                done = [i for i, _ in chunk]
            assert counts == [1] * 7
            assert store.pending_outbox() == 0
        finally:
            counter.close()
            store.close()


class _BusyOutbox:
    """The store's outbox while decisions keep committing: each claim that hands out events lets
    one more decision commit before the relay has published them (as on a busy engine)."""

    def __init__(self, store: SqlStore, commit: Callable[[], None], more: int) -> None:
        self._store = store
        self._commit = commit
        self.more = more
        self.claims = 0

    def claim_outbox(self, limit: int, published: Sequence[int] = ()) -> list[tuple[int, str]]:
        self.claims += 1
        chunk = self._store.claim_outbox(limit, published)
        if chunk and self.more:
            self.more -= 1
            self._commit()
        return chunk

    def release_outbox(self, ids: Sequence[int], published: Sequence[int] = ()) -> None:
        self._store.release_outbox(ids, published)


def test_the_background_relay_stops_once_caught_up_and_marks_with_its_next_claim(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    """A drain that claimed until a claim came back empty chased a busy engine one event per write
    transaction (0.6 relay transactions per decision measured); the background thread's drain stops
    after a short chunk and its marks ride on the next claim. ``drain()`` (close, scripts) still
    marks everything."""
    tenant = store.create_tenant("acme")
    committed: list[str] = []

    def commit() -> None:
        decision = make_decision(tenant.tenant_id)
        store.record_decision(decision, {})
        committed.append(decision.decision_id)

    commit()
    busy = _BusyOutbox(store, commit, more=10)
    bus = InProcessBus()
    seen: list[str] = []
    bus.subscribe("decision.made", lambda e: seen.append(e.payload["decision_id"]), group="t")
    relay = OutboxRelay(busy, bus, background=True, batch=4)
    relay._drain(defer_marks=True)  # what the background thread runs after each linger
    assert busy.claims == 1  # one event out, the one committed meanwhile left for the next drain
    assert store.pending_outbox() == 2  # the published one is not marked yet, the new one is due
    relay._drain(defer_marks=True)
    assert busy.claims == 2 and store.pending_outbox() == 2  # its claim marked the first
    relay.close()  # no thread was started: a last full drain
    assert store.pending_outbox() == 0
    assert seen == committed  # each once, in commit order


def _stored_rows(backend: Backend) -> list[tuple[str, str | None]]:
    engine = backend.raw_engine()
    try:
        with engine.connect() as conn:
            return [
                (r[0], r[1])
                for r in conn.execute(select(outbox.c.event, outbox.c.decision_id).order_by(outbox.c.id))
            ]
    finally:
        engine.dispose()


def test_a_decision_event_is_stored_without_its_document_and_claimed_with_it(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 3)
    rows = _stored_rows(backend)
    # The row refers to the decision: its document is written once, in `decisions`.
    assert [decision_id for _, decision_id in rows] == committed
    assert all(json.loads(event)["payload"] is None for event, _ in rows)
    chunk = store.claim_outbox(10)
    for (_, event), decision_id in zip(chunk, committed, strict=True):
        stored = store.get_decision(TenantId(json.loads(event)["tenant_id"]), DecisionId(decision_id))
        assert stored is not None
        assert json.loads(event)["payload"] == stored.model_dump(mode="json")
        Envelope.model_validate_json(event)  # what the relay publishes parses whole


def test_an_event_whose_decision_is_gone_is_marked_not_published(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 3)
    engine = backend.raw_engine()
    try:
        with engine.begin() as conn:  # as retention or an erasure would, before the bus came back
            conn.execute(delete(decisions).where(decisions.c.decision_id == committed[1]))
    finally:
        engine.dispose()
    chunk = store.claim_outbox(10)
    assert _decision_ids(chunk) == [committed[0], committed[2]]
    assert store.pending_outbox() == 2  # the two handed out; the gone one is marked already


def test_downgrading_puts_the_document_back_into_the_event(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    committed = _record(store, make_decision, 2)
    store.close()
    engine = backend.raw_engine()
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0010_hotstore_state_seq")
        with engine.connect() as conn:
            events = [json.loads(r[0]) for r in conn.execute(text("SELECT event FROM outbox ORDER BY id"))]
            documents = [json.loads(r[0]) for r in conn.execute(text("SELECT document FROM decisions"))]
    finally:
        engine.dispose()
    assert [e["payload"]["decision_id"] for e in events] == committed
    assert sorted((e["payload"] for e in events), key=str) == sorted(documents, key=str)
