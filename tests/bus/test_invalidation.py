"""Cache invalidation through the bus (issue 12): two engines on one store and one NATS server (a
private one); a policy activated through one drops the other's cached active policy at once, not
after its TTL. The in-process bus does the same within one process, for the intent model too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tactful.bus import open_bus
from tactful.domain import TenantId, new_id
from tactful.engine import Engine, EngineParts
from tactful.policy import lifecycle
from tactful.signals import tenant_intents
from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.support.servers import NatsServer

WAIT_S = 30.0
FOREVER_S = 24 * 3600.0  # a TTL that never runs out during the test: only a notice can drop the ref


@pytest.fixture
def two_engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine, TenantId]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with NatsServer.running() as nats:
        bus_url = f"{nats.url}?prefix=inv{new_id('x')[-8:].lower().replace('-', '')}"
        first = Engine(EngineParts(open_store(url), bus=open_bus(bus_url, consume=frozenset())))
        second = Engine(EngineParts(open_store(url), bus=open_bus(bus_url, consume=frozenset())))
        try:
            tenant_id = create_tenant(first.store, "inv").tenant.tenant_id
            yield first, second, tenant_id
        finally:
            first.close()
            second.close()


def publish_new_version(engine: Engine, tenant_id: TenantId) -> str:
    active = engine.store.get_policy(tenant_id)
    assert active is not None
    # Comments do not change a policy's content hash; its description does.
    source = active.source.replace("description: Tactful default", "description: Tactful second", 1)
    version, created = lifecycle.publish(engine.store, tenant_id, source, by="test")
    assert created
    return lifecycle.activate(engine.store, tenant_id, version.version, by="test").label


def test_activation_in_one_engine_drops_the_others_cached_policy(
    two_engines: tuple[Engine, Engine, TenantId],
) -> None:
    first, second, tenant_id = two_engines
    second.policies.ttl_s = FOREVER_S
    before = second.policies.get(tenant_id)
    label = publish_new_version(first, tenant_id)
    assert second.policies.get(tenant_id) is before  # without a notice the cached ref stands
    first.invalidation.announce("policy", tenant_id)
    assert second.invalidation.wait_received(1, WAIT_S)
    after = second.policies.get(tenant_id)
    assert after is not before and after.version_label == label


def test_in_process_notice_drops_the_intent_model_and_policy(tmp_path: Path) -> None:
    engine = Engine(EngineParts(open_store(f"sqlite:///{tmp_path / 'one.db'}")))
    try:
        tenant_id = create_tenant(engine.store, "inv").tenant.tenant_id
        tenant_intents._CACHE[str(tenant_id)] = (1, object())  # type: ignore[assignment]
        engine.policies.ttl_s = FOREVER_S
        before = engine.policies.get(tenant_id)
        label = publish_new_version(engine, tenant_id)
        engine.invalidation.announce("intents", tenant_id)
        engine.invalidation.announce("policy", tenant_id)
        assert str(tenant_id) not in tenant_intents._CACHE
        assert engine.invalidation.received == 2  # delivered synchronously in-process
        assert engine.policies.get(tenant_id).version_label == label != before.version_label
    finally:
        tenant_intents._CACHE.pop(str(tenant_id), None)
        engine.close()


def test_cli_activation_drops_a_running_engines_cached_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tactful policy activate`` runs no engine, yet the API processes drop their copy at once."""
    from typer.testing import CliRunner

    from tactful.cli import app

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with NatsServer.running() as nats:
        bus_url = f"{nats.url}?prefix=inv{new_id('x')[-8:].lower().replace('-', '')}"
        running = Engine(EngineParts(open_store(url), bus=open_bus(bus_url, consume=frozenset())))
        try:
            tenant_id = create_tenant(running.store, "inv").tenant.tenant_id
            running.policies.ttl_s = FOREVER_S
            before = running.policies.get(tenant_id)
            active = running.store.get_policy(tenant_id)
            assert active is not None
            source = active.source.replace("description: Tactful default", "description: Tactful CLI", 1)
            version, created = lifecycle.publish(running.store, tenant_id, source, by="test")
            assert created
            monkeypatch.setenv("TACTFUL_BUS_URL", bus_url)
            done = CliRunner().invoke(
                app, ["policy", "activate", str(version.version), "--tenant", "inv", "--db", url]
            )
            assert done.exit_code == 0, done.output
            assert running.invalidation.wait_received(1, WAIT_S)
            after = running.policies.get(tenant_id)
            assert after is not before and after.version_label == version.label
        finally:
            running.close()
