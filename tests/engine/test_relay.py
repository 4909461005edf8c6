"""The outbox relay: every committed event reaches the bus, in commit order, at least once — inline,
from the background thread, and again after a relay failure between publish and mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from tactful.bus import Deduplicator, InProcessBus
from tactful.bus.relay import OutboxRelay
from tactful.domain import Envelope
from tactful.engine import Engine, EngineParts
from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.conftest import FixedClock, MessageFactory


def test_background_relay_delivers_everything_in_order_by_close(
    tmp_path: Path, clock: FixedClock, message: MessageFactory
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'bg.db'}", clock=clock)
    tenant = create_tenant(store, "bg")
    bus = InProcessBus()
    seen: list[Envelope] = []
    bus.subscribe("decision.made", seen.append, group="test")
    engine = Engine(EngineParts(store, bus=bus, clock=clock, background_relay=True))
    made = [
        engine.decide(message(f"question {i}", event_id=f"e{i}", tenant_id=tenant.tenant.tenant_id))
        for i in range(20)
    ]
    engine.close()  # stops the thread after a last drain: nothing committed stays unpublished
    assert [e.payload["decision_id"] for e in seen] == [d.decision_id for d in made]


class FlakyOutbox:
    """Delegates to the store but fails the first call that marks events published: the relay died
    after the bus took the events and before it recorded that."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.failures = 1

    def claim_outbox(self, limit: int, published: Sequence[int] = ()) -> list[tuple[int, str]]:
        if published and self.failures:
            self.failures -= 1
            raise RuntimeError("relay crashed")
        return self._store.claim_outbox(limit, published)  # type: ignore[attr-defined, no-any-return]

    def mark_published(self, ids: list[int]) -> None:
        self._store.mark_published(ids)  # type: ignore[attr-defined]

    def release_outbox(self, ids: Sequence[int], published: Sequence[int] = ()) -> None:
        self._store.release_outbox(ids, published)  # type: ignore[attr-defined]


def test_a_relay_failure_redelivers_after_the_lease_and_consumers_dedupe(
    tmp_path: Path, clock: FixedClock, message: MessageFactory
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'flaky.db'}", clock=clock)
    tenant = create_tenant(store, "flaky")
    engine = Engine(EngineParts(store, clock=clock))  # inline relay for the decisions themselves
    seen_by_engine: list[str] = []
    engine.bus.subscribe("decision.made", lambda e: seen_by_engine.append(e.event_id), group="a")
    engine.decide(message("first", event_id="f1", tenant_id=tenant.tenant.tenant_id))
    assert len(seen_by_engine) == 1

    # A second relay over the same outbox: the event is queued again by a new decision, published,
    # and the relay "crashes" before marking it.
    bus = InProcessBus()
    raw: list[str] = []
    handled: list[str] = []
    bus.subscribe("decision.made", lambda e: raw.append(e.event_id), group="raw")
    bus.subscribe("decision.made", Deduplicator(lambda e: handled.append(e.event_id)), group="deduped")
    flaky = FlakyOutbox(store)
    relay = OutboxRelay(flaky, bus, background=False)
    engine.relay = relay
    engine.decide(message("second", event_id="f2", tenant_id=tenant.tenant.tenant_id))
    assert len(raw) == 1 and flaky.failures == 0
    assert relay.drain() == 0  # still leased: not handed out again yet
    clock.now += timedelta(seconds=31)  # the lease expires
    assert relay.drain() == 1
    assert raw == [raw[0], raw[0]]  # delivered twice: at least once
    assert handled == [raw[0]]  # the idempotent consumer acted once


class RefusingBus(InProcessBus):
    """Accepts ``accept`` publishes, then refuses every one (NATS went away mid-batch)."""

    def __init__(self, accept: int) -> None:
        super().__init__()
        self.accept = accept

    def publish(self, envelope: Envelope) -> None:
        if self.accept <= 0:
            raise ConnectionError("bus away")
        self.accept -= 1
        super().publish(envelope)


def test_a_refused_publish_gives_the_rest_of_the_batch_back_at_once(
    tmp_path: Path, clock: FixedClock, message: MessageFactory
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'refused.db'}", clock=clock)
    tenant = create_tenant(store, "refused")
    engine = Engine(EngineParts(store, clock=clock, bus=RefusingBus(accept=0)))  # decisions' own relay fails
    for i in range(3):
        engine.decide(message(f"question {i}", event_id=f"r{i}", tenant_id=tenant.tenant.tenant_id))
    bus = RefusingBus(accept=1)
    relay = OutboxRelay(store, bus, background=False)
    try:
        relay.drain()
        raise AssertionError("the refused publish must raise")
    except ConnectionError:
        pass
    # No time has passed (the clock is fixed): without the give-back, the lease would hold them.
    again = store.claim_outbox(100)
    assert len(again) == 3 - 1  # one decision.made per decision, but the one the bus took
    assert bus.published == 1
    engine.close()
    store.close()
