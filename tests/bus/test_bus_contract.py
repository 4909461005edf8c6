"""One contract for every bus (STYLE: "one contract suite per interface"): the in-process bus and
NATS JetStream on a private nats-server started for this module (never the shared one on 4222).

The durable bus delivers from other threads, so the checks wait for a condition with a bound
(``Collector.wait_for``), never for a fixed time."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tactful.bus import Bus, DeadLetters, Deduplicator, open_bus
from tactful.domain import Envelope, new_id
from tests.support.servers import NatsServer

WAIT_S = 20.0


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    with NatsServer.running() as server:
        yield server


@pytest.fixture(params=["memory", "nats"])
def make_bus(request: pytest.FixtureRequest) -> Iterator[Callable[..., Bus]]:
    opened: list[Bus] = []
    # A fresh prefix per test: its own streams and consumers on the shared private server.
    prefix = f"t{new_id('x')[-10:].lower().replace('-', '')}"

    def make(**options: object) -> Bus:
        if request.param == "memory":
            bus: Bus = open_bus("memory://")
        else:
            server: NatsServer = request.getfixturevalue("nats_server")
            query = "&".join(f"{k}={v}" for k, v in {"prefix": prefix, "backoff_s": 0.01, **options}.items())
            bus = open_bus(f"{server.url}?{query}")
        opened.append(bus)
        return bus

    yield make
    for bus in opened:
        bus.close()


def envelope(key: str, n: int = 0, event_id: str | None = None) -> Envelope:
    return Envelope(
        event_id=event_id or new_id("evt"),
        type="message.received",
        tenant_id="t1",
        key=key,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        payload={"n": n},
    )


class Collector:
    """A handler that records what it saw, optionally failing, and lets a test wait for a count."""

    def __init__(self, fail: Callable[[Envelope], bool] = lambda _: False) -> None:
        self.seen: list[Envelope] = []
        self.attempts: dict[str, int] = defaultdict(int)
        self._fail = fail
        self._cond = threading.Condition()

    def __call__(self, env: Envelope) -> None:
        with self._cond:
            self.attempts[env.event_id] += 1
            if self._fail(env):
                raise RuntimeError(f"handler refuses {env.event_id}")
            self.seen.append(env)
            self._cond.notify_all()

    def wait_for(self, count: int) -> list[Envelope]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.seen) >= count, timeout=WAIT_S), (
                f"saw {len(self.seen)} of {count} events"
            )
            return list(self.seen)


def test_every_group_gets_each_event(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    a, b = Collector(), Collector()
    bus.subscribe("message.received", a, group="alpha")
    bus.subscribe("message.received", b, group="beta")
    sent = [envelope(f"c{i}", i) for i in range(5)]
    for env in sent:
        bus.publish(env)
    assert {e.event_id for e in a.wait_for(5)} == {e.event_id for e in sent}
    assert {e.event_id for e in b.wait_for(5)} == {e.event_id for e in sent}


def test_other_event_types_are_not_delivered(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    decisions, messages = Collector(), Collector()
    bus.subscribe("decision.made", decisions, group="alpha")
    bus.subscribe("message.received", messages, group="alpha")
    bus.publish(envelope("c1"))
    messages.wait_for(1)
    bus.publish(envelope("c1").model_copy(update={"type": "decision.made"}))
    decisions.wait_for(1)
    assert [e.type for e in decisions.seen] == ["decision.made"]
    assert [e.type for e in messages.seen] == ["message.received"]


def test_order_per_key_holds(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus(partitions=4)
    got = Collector()
    bus.subscribe("message.received", got, group="alpha")
    keys = [f"conv-{k}" for k in range(6)]
    for n in range(10):  # interleaved conversations
        for key in keys:
            bus.publish(envelope(key, n))
    seen = got.wait_for(60)
    for key in keys:
        assert [e.payload["n"] for e in seen if e.key == key] == list(range(10))


def test_failing_handler_is_retried_until_it_succeeds(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    flaky = Collector(fail=lambda env: flaky.attempts[env.event_id] < 2)
    bus.subscribe("message.received", flaky, group="alpha")
    env = envelope("c1")
    bus.publish(env)
    assert [e.event_id for e in flaky.wait_for(1)] == [env.event_id]
    assert flaky.attempts[env.event_id] == 2


def test_poison_event_is_dead_lettered_and_does_not_block_the_key(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus(max_attempts=3)
    poison = envelope("c1", 0)
    got = Collector(fail=lambda env: env.event_id == poison.event_id)
    bus.subscribe("message.received", got, group="alpha")
    after = envelope("c1", 1)  # same conversation, behind the poison message
    bus.publish(poison)
    bus.publish(after)
    assert [e.event_id for e in got.wait_for(1)] == [after.event_id]
    assert got.attempts[poison.event_id] == 3
    assert isinstance(bus, DeadLetters)
    dead = bus.dead_letters()
    assert [(d.group, d.event_id, d.attempts) for d in dead] == [("alpha", poison.event_id, 3)]
    assert "handler refuses" in dead[0].error
    assert bus.dead_letter_count() == 1


def test_a_repeated_event_reaches_a_deduplicating_handler_once(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    got = Collector()
    bus.subscribe("message.received", Deduplicator(got), group="alpha")
    env = envelope("c1", 0)
    bus.publish(env)
    bus.publish(env)  # the relay re-publishing after a crash
    marker = envelope("c1", 1)
    bus.publish(marker)  # same key: delivered after both copies
    seen = got.wait_for(2)
    assert [e.event_id for e in seen] == [env.event_id, marker.event_id]


def test_jetstream_stores_a_republished_event_once(nats_server: NatsServer) -> None:
    from tactful.bus.nats import NatsBus

    bus = open_bus(f"{nats_server.url}?prefix=dedupe")
    try:
        assert isinstance(bus, NatsBus)
        env = envelope("c1")
        bus.publish(env)
        bus.publish(env)  # same Nats-Msg-Id within the duplicate window
        bus.publish(envelope("c1"))
        assert bus.status()["streams"]["DEDUPE_MESSAGES"] == 2
    finally:
        bus.close()


def test_the_relays_stored_bytes_go_out_unchanged_and_are_read_as_the_event(
    nats_server: NatsServer,
) -> None:
    """``publish_encoded`` (what the outbox relay calls) sends the stored JSON as it is: another
    JSON form of the same envelope (orjson's, keys in another order) reaches a subscriber as that
    envelope, and a re-sent event id is still stored once."""
    import orjson

    from tactful.bus.base import PublishesEncoded
    from tactful.bus.nats import NatsBus

    bus = open_bus(f"{nats_server.url}?prefix=encoded&backoff_s=0.01")
    try:
        assert isinstance(bus, NatsBus) and isinstance(bus, PublishesEncoded)
        got = Collector()
        bus.subscribe("message.received", got, group="alpha")
        env = envelope("c1", 7)
        stored = orjson.dumps(dict(reversed(list(env.model_dump(mode="json").items()))))
        assert stored != env.model_dump_json().encode()  # not the bytes publish() would make
        bus.publish_encoded(env, stored)
        bus.publish_encoded(env, stored)  # the relay re-sending after a crash before its mark
        assert got.wait_for(1) == [env]
        assert bus.status()["streams"]["ENCODED_MESSAGES"] == 1
    finally:
        bus.close()


@pytest.mark.parametrize(
    "url", ["nats://127.0.0.1:1?partitions=0", "nats://127.0.0.1:1?colour=red", "kafka://x"]
)
def test_bad_bus_urls_are_rejected(url: str) -> None:
    from tactful.errors import InputRejected

    with pytest.raises(InputRejected) as err:
        open_bus(url)
    assert err.value.code == "unsupported_bus_url"


def test_a_worker_consumes_only_its_groups(nats_server: NatsServer) -> None:
    producer = open_bus(f"{nats_server.url}?prefix=roles")
    worker = open_bus(f"{nats_server.url}?prefix=roles", consume={"features"})
    try:
        features, learner = Collector(), Collector()
        worker.subscribe("message.received", features, group="features")
        worker.subscribe("message.received", learner, group="learner")  # not this process's role
        producer.publish(envelope("c1"))
        features.wait_for(1)
        assert learner.seen == []
        assert worker.status()["groups"].keys() == {"features_message_received"}  # type: ignore[attr-defined]
    finally:
        worker.close()
        producer.close()


def test_only_the_learner_worker_learns(nats_server: NatsServer, tmp_path: Path) -> None:
    from tactful.config import Settings
    from tactful.engine import Engine
    from tactful.learn.bandit import BanditLearner
    from tactful.learn.reader import SnapshotReader

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'l.db'}",
        bus_url=f"{nats_server.url}?prefix=learners",
        signal_tiers=("lexicon",),
    )
    api = Engine.from_settings(settings, consume=frozenset())
    learner = Engine.from_settings(settings, consume={"learner"})
    embedded = Engine.from_settings(Settings(database_url=settings.database_url, signal_tiers=("lexicon",)))
    try:
        assert isinstance(api.learner, SnapshotReader)
        assert type(learner.learner) is BanditLearner
        assert type(embedded.learner) is BanditLearner
    finally:
        for engine in (api, learner, embedded):
            engine.close()
