"""Fixtures for live-channel tests: a SQLite store with a vault, a tenant, a settable clock, the
local Twilio server, the channel service and the HTTP app in-process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from tactful.api.app import create_app
from tactful.channels.service import ChannelService
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.store import SqlStore, open_store
from tactful.tenants import create_tenant
from tests.api.conftest import Client
from tests.channels.local_twilio import AUTH_TOKEN, LocalTwilio, credentials

BASE = "http://tactful.test"


class Clock:
    def __init__(self) -> None:
        # A Wednesday afternoon: outside the default quiet hours.
        self.now = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Live:
    store: SqlStore
    engine: Engine
    service: ChannelService
    twilio: LocalTwilio
    client: Client
    tenant_id: str
    api_key: str
    clock: Clock

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def signed(
        self, path: str, form: dict[str, str], *, token: str = AUTH_TOKEN
    ) -> tuple[str, dict[str, str]]:
        """The URL (with the tenant) and headers of a webhook signed as Twilio signs it."""
        url = f"{BASE}{path}?tenant_id={self.tenant_id}"
        signature = RequestValidator(token).compute_signature(url, form)
        return url, {"X-Twilio-Signature": signature}

    def post_signed(self, path: str, form: dict[str, str]) -> object:
        url, headers = self.signed(path, form)
        return self.client.post(url, data=form, headers=headers)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    clock = Clock()
    store = open_store(f"sqlite:///{tmp_path / 'live.db'}", clock=clock)
    engine = Engine(EngineParts(store, clock=clock))
    created = create_tenant(store, "acme")
    twilio = LocalTwilio()
    app = create_app(engine, Settings())
    service = ChannelService(engine)
    app.state.channels = service
    tid = created.tenant.tenant_id
    service.credentials.put(tid, "twilio", credentials(twilio))
    client = Client(app)
    try:
        yield Live(store, engine, service, twilio, client, tid, created.api_key, clock)
    finally:
        client.close()
        service.close()
        twilio.close()
        engine.close()
