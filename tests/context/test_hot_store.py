"""Redis as the hot store (issue 13) on the shared Redis under a unique prefix, over SQLite and
PostgreSQL: what decisions read from it equals what they read from SQL alone, writes and rebuild
keep it equal to SQL, a stale copy is never served, erasure reaches it, and two engines sharing it
agree on a re-sent event id."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis

from tactful.config import Settings
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    Decision,
    EventId,
    InboundMessage,
    Outcome,
    OutcomeType,
    TenantId,
    new_id,
)
from tactful.engine import Engine, EngineParts
from tactful.errors import InputRejected
from tactful.hot import HotPath
from tactful.render import TemplateRenderer
from tactful.store import SqlStore, open_store
from tactful.store.hot import open_hot_store
from tactful.store.redis import RedisHotStore
from tactful.tenants import create_tenant
from tests.context.conftest import MovableClock
from tests.context.hot_support import hot_keys, hot_path, prefixed, shared_redis_or_skip, sql_and_hot_agree

TEXTS = (
    "My parcel is late and I am really annoyed about it",
    "Thanks, that solved it!",
    "Can I change my delivery address?",
    "This is the third time I write. Nobody answers. Furious.",
)


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    url = shared_redis_or_skip()
    with prefixed(url) as prefix:
        yield url, prefix


@dataclass
class HotSetup:
    engine: Engine
    hot: HotPath
    tenant_id: str
    url: str
    prefix: str


@pytest.fixture
def setup(sql_store: SqlStore, clock: MovableClock, redis_prefix: tuple[str, str]) -> HotSetup:
    """An engine over ``sql_store`` with the shared Redis as its hot store, and a tenant."""
    url, prefix = redis_prefix
    tenant_id = create_tenant(sql_store, "acme").tenant.tenant_id
    hot = hot_path(url, prefix, sql_store)
    return HotSetup(Engine(EngineParts(sql_store, clock=clock, hot=hot)), hot, tenant_id, url, prefix)


def replied(engine: Engine, decision: Decision, event_id: str, at: datetime) -> None:
    engine.record_outcome(
        Outcome(
            event_id=EventId(event_id),
            tenant_id=decision.tenant_id,
            decision_id=decision.decision_id,
            type=OutcomeType.REPLIED,
            occurred_at=at,
        )
    )


def inbound(
    tenant_id: str, customer: str, i: int, clock: MovableClock, event_id: str | None = None
) -> InboundMessage:
    return InboundMessage(
        event_id=EventId(event_id or f"e-{customer}-{i}"),
        tenant_id=TenantId(tenant_id),
        customer_id=CustomerId(customer),
        conversation_id=ConversationId(f"conv-{customer}-{i // 3}"),
        channel=Channel.CHAT if i % 2 else Channel.EMAIL,
        text=TEXTS[i % len(TEXTS)],
        sent_at=clock.now,
    )


def run(engine: Engine, tenant_id: str, clock: MovableClock, rounds: int = 4) -> list[Decision]:
    """Decisions for three customers, with an outcome now and then, ten minutes apart; each
    customer's last event is a decision."""
    made = []
    for i in range(rounds * 3):
        customer = f"cust-{i % 3}"
        decision = engine.decide(inbound(tenant_id, customer, i, clock))
        made.append(decision)
        if i % 4 == 1 and i < (rounds - 1) * 3:
            replied(engine, decision, f"o-{i}", clock.now + timedelta(minutes=1))
        clock.now += timedelta(minutes=10)
    return made


def test_decisions_read_the_same_features_with_and_without_the_hot_store(
    setup: HotSetup, sql_store: SqlStore, clock: MovableClock, tmp_path: Any
) -> None:
    start = clock.now
    with_hot = run(setup.engine, setup.tenant_id, clock)
    assert setup.hot.features.hits > 0  # Redis did serve reads
    assert not any(d.degraded and any("hot store" in r for r in d.degradations) for d in with_hot)
    assert sql_and_hot_agree(setup.engine, sql_store, setup.tenant_id, ["cust-0", "cust-1", "cust-2"]) == 3

    # The same traffic on a store without a hot store: the same features at every decision.
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}", clock=clock)
    try:
        other = create_tenant(reference, "acme").tenant.tenant_id
        clock.now = start
        without = run(Engine(EngineParts(reference, clock=clock)), other, clock)
    finally:
        reference.close()
    assert [d.features["values"] for d in with_hot] == [d.features["values"] for d in without]


def test_an_outcome_folded_in_sql_makes_the_copy_stale_and_it_is_not_served(
    setup: HotSetup, sql_store: SqlStore, clock: MovableClock
) -> None:
    engine, tenant_id = setup.engine, setup.tenant_id
    first = engine.decide(inbound(tenant_id, "c1", 0, clock))
    replied(engine, first, "o-1", clock.now)  # folded into SQL's state via the bus; not into Redis
    clock.now += timedelta(minutes=5)
    misses = setup.hot.features.misses
    second = engine.decide(inbound(tenant_id, "c1", 1, clock))
    assert setup.hot.features.misses == misses + 1
    assert second.features["values"]["last_channel_answered"]["value"] == first.channel.primary.value  # type: ignore[union-attr]
    assert sql_and_hot_agree(engine, sql_store, tenant_id, ["c1"]) == 1  # written back


def test_rebuild_refills_an_empty_hot_store(
    setup: HotSetup, sql_store: SqlStore, clock: MovableClock
) -> None:
    engine, tenant_id = setup.engine, setup.tenant_id
    run(engine, tenant_id, clock, rounds=2)
    client = redis.Redis.from_url(setup.url)
    client.delete(*hot_keys(setup.url, setup.prefix))  # a Redis that lost everything
    client.close()
    assert setup.hot.store.read_state(tenant_id, "cust-0", 0, personal=True) is None
    report = setup.hot.features.rebuild(tenant_id)
    assert report.customers == 3 and report.events > 0
    assert sql_and_hot_agree(engine, sql_store, tenant_id, ["cust-0", "cust-1", "cust-2"]) == 3


def test_an_older_state_never_overwrites_a_newer_one(
    setup: HotSetup, sql_store: SqlStore, clock: MovableClock
) -> None:
    engine, tenant_id = setup.engine, setup.tenant_id
    engine.decide(inbound(tenant_id, "c1", 0, clock))
    old = sql_store.features.state_texts(tenant_id, "c1", personal=True)
    clock.now += timedelta(minutes=3)
    engine.decide(inbound(tenant_id, "c1", 1, clock))
    assert old is not None
    written = setup.hot.store.write_states([old])
    assert written == 0  # a write-through that arrived late changes nothing
    assert sql_and_hot_agree(engine, sql_store, tenant_id, ["c1"]) == 1


def test_erasure_removes_the_hot_copy(setup: HotSetup, clock: MovableClock) -> None:
    from tactful.subjects import erase_customer

    setup.engine.decide(inbound(setup.tenant_id, "c1", 0, clock))
    assert any(b"c1" in k for k in hot_keys(setup.url, setup.prefix))
    erase_customer(setup.engine, TenantId(setup.tenant_id), CustomerId("c1"), by="test")
    assert not any(b"c1" in k for k in hot_keys(setup.url, setup.prefix))


class _Held(TemplateRenderer):
    """A renderer that holds the first decision until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def render(self, request: Any) -> Any:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(30), "the test never released the first decision"
        return super().render(request)


@pytest.mark.parametrize("known", [False, True], ids=["new-customer", "customer-with-state"])
def test_two_engines_sharing_redis_agree_on_a_retried_event_id(
    tmp_path: Any, clock: MovableClock, redis_prefix: tuple[str, str], known: bool
) -> None:
    """A new customer's claim is its own round trip; with state it rides with the HMGET."""
    url, prefix = redis_prefix
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    store_a, store_b = open_store(db, clock=clock), open_store(db, clock=clock)
    try:
        tenant_id = create_tenant(store_a, "acme").tenant.tenant_id
        if known:
            Engine(EngineParts(store_a, clock=clock, hot=hot_path(url, prefix, store_a))).decide(
                inbound(tenant_id, "c1", 9, clock)
            )
            clock.now += timedelta(minutes=1)
        held = _Held()
        a = Engine(EngineParts(store_a, clock=clock, renderer=held, hot=hot_path(url, prefix, store_a)))
        b_renderer = _Held()
        b_renderer.release.set()
        b = Engine(EngineParts(store_b, clock=clock, renderer=b_renderer, hot=hot_path(url, prefix, store_b)))
        assert b.hot is not None
        made_by_b: list[Decision] = []
        b.observers.append(made_by_b.append)
        waiting = threading.Event()
        claim, claim_and_read = b.hot.store.claim_event, b.hot.store.claim_and_read

        def claim_and_tell(*args: Any) -> bool:
            got = claim(*args)
            if not got:
                waiting.set()  # B found A's claim and is about to wait for it
            return got

        def claim_read_and_tell(*args: Any, **kwargs: Any) -> Any:
            got = claim_and_read(*args, **kwargs)
            if not got[0]:
                waiting.set()
            return got

        b.hot.store.claim_event = claim_and_tell  # type: ignore[method-assign]
        b.hot.store.claim_and_read = claim_read_and_tell  # type: ignore[method-assign]
        message = inbound(tenant_id, "c1", 0, clock, event_id=f"evt-{new_id('x')}")
        results: dict[str, Decision] = {}
        first = threading.Thread(target=lambda: results.setdefault("a", a.decide(message)))
        first.start()
        assert held.entered.wait(30)  # A holds the claim and is mid-decision
        second = threading.Thread(target=lambda: results.setdefault("b", b.decide(message)))
        second.start()
        assert waiting.wait(30)  # B saw the claim
        held.release.set()
        first.join(30)
        second.join(30)
        assert results["a"].decision_id == results["b"].decision_id
        assert b_renderer.calls == 0 and made_by_b == []  # B never computed a decision of its own
        assert b.hot.claims.waited == 1
    finally:
        store_a.close()
        store_b.close()


def test_urls_passwords_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputRejected):
        open_hot_store("memcached://localhost")
    secure = RedisHotStore("rediss://:s3cret@cache.example:6380/2")
    pool = secure._redis.connection_pool
    assert pool.connection_class is redis.SSLConnection
    assert pool.connection_kwargs["password"] == "s3cret" and pool.connection_kwargs["db"] == 2
    assert "s3cret" not in secure.where and secure.where == "rediss://cache.example:6380/2"
    monkeypatch.delenv("TACTFUL_HOT_STORE_URL", raising=False)
    assert Settings.from_env().hot_store_url is None  # the embedded default: no hot store
    monkeypatch.setenv("TACTFUL_HOT_STORE_URL", "redis://:pw@h:6379/1")
    monkeypatch.setenv("TACTFUL_HOT_STORE_PREFIX", "x:")
    settings = Settings.from_env()
    assert (settings.hot_store_url, settings.hot_store_prefix) == ("redis://:pw@h:6379/1", "x:")
    assert "pw" not in repr(settings)
    assert settings.as_environment()["TACTFUL_HOT_STORE_URL"] == "redis://:pw@h:6379/1"


def test_a_hot_path_opens_from_its_url(sql_store: SqlStore, redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    hot = HotPath.open(url, sql_store.features, prefix=prefix)
    try:
        assert hot.store.ping() and hot.breaker.state == "closed"
    finally:
        hot.close()


def test_cli_rebuild_refills_the_configured_hot_store(
    tmp_path: Any, clock: MovableClock, redis_prefix: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tactful.cli import app

    url, prefix = redis_prefix
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(db, clock=clock)
    try:
        tenant_id = create_tenant(store, "acme").tenant.tenant_id
        run(
            Engine(EngineParts(store, clock=clock)), tenant_id, clock, rounds=2
        )  # no hot store: Redis has nothing
        assert hot_keys(url, prefix) == []
        monkeypatch.setenv("TACTFUL_HOT_STORE_URL", url)
        monkeypatch.setenv("TACTFUL_HOT_STORE_PREFIX", prefix)
        result = CliRunner().invoke(app, ["features", "rebuild", "--db", db])
        assert result.exit_code == 0, result.output
        assert (
            "rebuilt 3 customers" in result.stdout
            and "hot store redis://127.0.0.1:6379/0 refilled" in result.stdout
        )
        engine = Engine(EngineParts(store, clock=clock, hot=hot_path(url, prefix, store)))
        assert sql_and_hot_agree(engine, store, tenant_id, ["cust-0", "cust-1", "cust-2"]) == 3
    finally:
        store.close()
