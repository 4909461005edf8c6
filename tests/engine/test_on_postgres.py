"""The whole loop on PostgreSQL (the store contract suite covers the store alone): decisions over the
API, idempotency, outcomes, tenant scoping and the audit chain — the same code paths as SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.store import open_store
from tactful.store.base import Store
from tactful.tenants import create_tenant
from tests.api.conftest import Client
from tests.conftest import FixedClock, postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store() -> Iterator[Store]:
    with postgres_schema() as url:
        store = open_store(url)
        yield store
        store.close()


def test_decisions_over_the_api_on_postgres(pg_store: Store, clock: FixedClock) -> None:
    acme, globex = create_tenant(pg_store, "acme"), create_tenant(pg_store, "globex")
    engine = Engine(EngineParts(pg_store, clock=clock))
    client = Client(create_app(engine, Settings()))
    try:
        auth = {"Authorization": f"Bearer {acme.api_key}"}
        body = {
            "customer_id": "c1",
            "conversation_id": "k1",
            "channel": "sms",
            "event_id": "e1",
            "text": "I was charged twice for my order, please refund it. Thanks",
        }
        first = client.post("/v1/messages", json=body, headers=auth)
        assert first.status_code == 200, first.text
        assert client.post("/v1/messages", json=body, headers=auth).json() == first.json()
        d = first.json()
        assert d["tone"]["brevity"] >= 0.8 and d["reply"]["segments"]
        other = {"Authorization": f"Bearer {globex.api_key}"}
        assert client.get(f"/v1/decisions/{d['decision_id']}", headers=other).status_code == 404
        out = client.post(
            "/v1/outcomes", json={"decision_id": d["decision_id"], "type": "resolved"}, headers=auth
        )
        assert out.status_code == 201
        prefs = client.put("/v1/customers/c1/preferences", json={"opted_out": ["sms"]}, headers=auth)
        assert prefs.status_code == 200
        again = client.post("/v1/messages", json={**body, "event_id": "e2"}, headers=auth).json()
        assert again["channel"]["primary"] != "sms"
    finally:
        client.close()
    results = pg_store.audit.verify()
    assert {r.tenant_id for r in results} == {acme.tenant.tenant_id, globex.tenant.tenant_id}
    assert all(r.ok for r in results)
    # Per tenant its key.create and two policy entries; then the two decisions and the audited
    # consent change (the preferences PUT).
    assert sum(r.checked for r in results) == 3 + 3 + 2 + 1
    assert sum(r.decisions_checked for r in results) == 2
