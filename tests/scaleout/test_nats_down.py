"""NATS away: the API stays ready but says so, and publishes fail fast once the breaker opens
(issue 13); a poison message is visible in the CLI and in /metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.api.app import create_app
from tactful.breaker import CircuitOpen
from tactful.bus import open_bus
from tactful.bus.nats import BusUnavailable, NatsBus
from tactful.cli import app as cli
from tactful.config import Settings
from tactful.domain import Envelope, new_id
from tactful.engine import Engine
from tests.api.conftest import Client
from tests.support.servers import NatsServer


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    with NatsServer.running() as server:
        yield server


def envelope(key: str) -> Envelope:
    return Envelope(
        event_id=new_id("evt"), type="outcome.recorded", tenant_id="t", key=key,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC), payload={},
    )  # fmt: skip


def test_readyz_shows_the_open_breaker_and_stays_ready(nats_server: NatsServer, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        bus_url=f"{nats_server.url}?prefix=ready&timeout_s=0.5",
        signal_tiers=("lexicon",),
    )
    engine = Engine.from_settings(settings, consume=frozenset())
    client = Client(create_app(engine, settings))
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["bus"] == "ok"
        nats_server.kill()
        bus = engine.bus
        assert isinstance(bus, NatsBus)
        for _ in range(bus.breaker.threshold):
            with pytest.raises(BusUnavailable):
                bus.publish(envelope("k"))
        with pytest.raises(CircuitOpen):  # at once, without waiting for a dead server
            bus.publish(envelope("k"))
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["bus"] == "circuit_open"
        assert 'tactful_breaker_open{breaker="nats"} 1.0' in client.get("/metrics").text
    finally:
        client.close()
        engine.close()


def test_dead_letters_in_the_cli(nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{nats_server.url}?prefix=cli&max_attempts=1"
    bus = open_bus(url)
    seen: list[str] = []

    def refuse(env: Envelope) -> None:
        seen.append(env.event_id)
        raise ValueError("cannot handle this one")

    poison = envelope("k")
    try:
        bus.subscribe("outcome.recorded", refuse, group="features")
        bus.publish(poison)
        assert isinstance(bus, NatsBus)
        deadline = 200
        while bus.dead_letter_count() < 1 and deadline:  # bounded wait for the consumer to give up
            deadline -= 1
            time.sleep(0.05)
    finally:
        bus.close()
    monkeypatch.setenv("TACTFUL_BUS_URL", url)
    result = CliRunner().invoke(cli, ["bus", "dead-letters"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["count"] == 1
    [dead] = listed["dead_letters"]
    assert dead["event_id"] == poison.event_id and dead["group"] == "features"
    assert "cannot handle this one" in dead["error"] and dead["attempts"] == 1
    status = CliRunner().invoke(cli, ["bus", "status"])
    assert status.exit_code == 0 and json.loads(status.output)["streams"]["CLI_DEAD"] == 1
