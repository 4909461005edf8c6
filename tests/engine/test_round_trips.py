"""Issue 12: a decision on PostgreSQL costs at most six round trips, counted on the wire (libpq's
protocol trace, ``tactful.store.roundtrips``): one combined read, the decision's transaction as a
pipeline. Counted the way the service runs (the outbox relayed in the background, so the relay's
own transactions are not the decision's)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tactful.config import Settings
from tactful.domain import Channel, ConversationId, CustomerId, EventId, InboundMessage, TenantId
from tactful.engine import Engine
from tactful.store.roundtrips import RoundTrips
from tactful.tenants import create_tenant
from tests.conftest import postgres_schema

pytestmark = pytest.mark.postgres

BUDGET = 6


class Ticking:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=5)
        return self.now


def test_a_decision_costs_at_most_six_round_trips() -> None:
    with postgres_schema() as url:
        clock = Ticking()
        engine = Engine.from_settings(Settings(database_url=url), clock=clock, background_relay=True)
        counter = RoundTrips(engine.store._db)  # type: ignore[attr-defined]
        try:
            tenant = TenantId(create_tenant(engine.store, "acme").tenant.tenant_id)

            def message(i: int, customer: str) -> InboundMessage:
                return InboundMessage(
                    event_id=EventId(f"e{i}"),
                    tenant_id=tenant,
                    customer_id=CustomerId(customer),
                    conversation_id=ConversationId("k1"),
                    channel=Channel.CHAT,
                    text="I was charged twice for my order, please refund the second payment",
                    sent_at=clock.now,
                )

            for i in range(3):  # first decisions compile the policy and create the customers' state
                engine.decide(message(i, f"c{i % 2}"))
            counts, sent = [], []
            for i in range(3, 9):
                with counter.counting():
                    decision = engine.decide(message(i, f"c{i % 2}"))
                counts.append(counter.count())
                sent.append(counter.sent())
                assert decision.event_id == f"e{i}"
            assert max(counts) <= BUDGET, (counts, sent[counts.index(max(counts))])
            assert min(counts) >= 3  # the read, the head lock and the commit: the counter sees them
            # BEGIN and COMMIT ride in the pipeline (store/database.py): psycopg's own transaction
            # syncs after each, and those two waits made a decision five round trips. The one
            # exception: the execution on which psycopg prepares a statement on this connection
            # (once per statement and pooled connection) sends its Parse with a Sync of its own.
            for count, lines in zip(counts, sent, strict=True):
                assert count - _prepared_alone(lines) == 3, (counts, lines)

            with counter.counting():  # a re-sent event is answered by the combined read alone
                engine.decide(message(8, "c0"))
            if counter.count() - _prepared_alone(counter.sent()) != 1:  # the lines say which was extra
                pytest.fail("\n".join(counter.messages()))
        finally:
            counter.close()
            engine.close()


def _prepared_alone(sent: list[str]) -> int:
    """How many named statements were prepared in a round trip of their own (Parse, then Sync)."""
    return sum(
        1
        for line, following in itertools.pairwise(sent)
        if "\tParse\t" in line and '"_pg' in line and following.split("\t")[2] == "Sync"
    )
