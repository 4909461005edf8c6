"""Erasure (``DELETE /v1/customers/{id}``) and the access report (``GET .../export``), over the API
and the CLI: crypto-shredding, the audit chain still verifying, and tenant isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tactful.api.app import create_app
from tactful.cli import app as cli_app
from tactful.config import Settings
from tactful.domain import TenantId
from tactful.engine import Engine
from tactful.guard.crypto import VaultError
from tactful.store.base import Store
from tactful.tenants import NewTenant, create_tenant
from tests.api.conftest import Client
from tests.conftest import FixedClock

EMAIL = "anna.lopez@example.com"
PHONE = "+44 7700 900123"


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings()))
    yield c
    c.close()


def _auth(t: NewTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {t.api_key}"}


def _seed(client: Client, auth: dict[str, str], customer: str = "cust-1") -> str:
    put = client.put(f"/v1/customers/{customer}", json={"profile": {"tier": "vip"}}, headers=auth)
    assert put.status_code == 200, put.text
    body = {"customer_id": customer, "conversation_id": "k1", "channel": "chat"}
    first = client.post(
        "/v1/messages", json={**body, "text": f"my email is {EMAIL}, where is my refund?"}, headers=auth
    )
    assert first.status_code == 200, first.text
    client.post("/v1/messages", json={**body, "text": f"call me on {PHONE}"}, headers=auth)
    decision_id = str(first.json()["decision_id"])
    out = client.post("/v1/outcomes", json={"decision_id": decision_id, "type": "resolved"}, headers=auth)
    assert out.status_code == 201, out.text
    return decision_id


def test_export_then_erase_then_nothing_is_left(
    client: Client, engine: Engine, tenant: NewTenant, store: Store, clock: FixedClock
) -> None:
    auth = _auth(tenant)
    decision_id = _seed(client, auth)

    report = client.get("/v1/customers/cust-1/export", headers=auth)
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["profile"]["tier"] == "vip" and data["preferences"] is not None
    assert sorted(v["value"] for v in data["personal_data"]) == sorted([EMAIL, PHONE])
    assert {v["kind"] for v in data["personal_data"]} == {"email", "phone"}
    assert decision_id in [d["decision_id"] for d in data["decisions"]] and len(data["decisions"]) == 2
    assert all(d["explanation"]["rules_fired"] for d in data["decisions"])
    assert [o["type"] for o in data["outcomes"]] == ["resolved"]

    tenant_id = TenantId(tenant.tenant.tenant_id)
    # the feature store knows the customer (read well after the messages, whatever their times)
    later = datetime.now(UTC) + timedelta(days=1)
    seen = engine.features.as_of(tenant_id, "cust-1", later).values["last_channel_used"]
    assert not seen.missing, seen
    assert engine.features.erase_customer(tenant_id, "nobody") == 0  # a no-op for a stranger
    copy = store.vault.get_values(tenant_id, "cust-1", None)[0]  # type: ignore[attr-defined]
    assert engine.vault is not None

    erased = client.request("DELETE", "/v1/customers/cust-1", headers=auth)
    assert erased.status_code == 204, erased.text

    gone = client.get("/v1/customers/cust-1/export", headers=auth)
    assert gone.status_code == 404 and gone.json()["code"] == "customer_not_found"
    assert client.get("/v1/customers/cust-1", headers=auth).status_code == 404
    assert client.request("DELETE", "/v1/customers/cust-1", headers=auth).status_code == 404
    with pytest.raises(VaultError):
        engine.vault.decrypt(tenant_id, "cust-1", copy)
    assert engine.vault.reveal(tenant_id, "cust-1") == []
    # the feature store's event log and state went with the customer
    after = engine.features.as_of(tenant_id, "cust-1", later).values["last_channel_used"]
    assert after.missing, after

    entries = store.audit.entries(tenant_id)
    erasure = [e for e in entries if e.kind == "customer.erased"]
    assert len(erasure) == 1 and erasure[0].payload["key_destroyed"] is True
    assert "cust-1" not in json.dumps(erasure[0].payload) and EMAIL not in json.dumps(erasure[0].payload)
    assert all(r.ok for r in store.audit.verify(tenant_id))

    # the same id writing in again starts a new record: only what came after the erasure is exported
    clock.now += timedelta(minutes=1)
    again = {"customer_id": "cust-1", "conversation_id": "k2", "channel": "chat", "text": "hello again"}
    assert client.post("/v1/messages", json=again, headers=auth).status_code == 200
    fresh = client.get("/v1/customers/cust-1/export", headers=auth).json()
    assert "decisions" in fresh, fresh
    assert len(fresh["decisions"]) == 1 and fresh["personal_data"] == [] and fresh["profile"] is None


def test_another_tenant_can_neither_export_nor_erase(client: Client, tenant: NewTenant, store: Store) -> None:
    _seed(client, _auth(tenant))
    other = _auth(create_tenant(store, "globex"))
    assert client.get("/v1/customers/cust-1/export", headers=other).status_code == 404
    assert client.request("DELETE", "/v1/customers/cust-1", headers=other).status_code == 404
    assert client.get("/v1/customers/cust-1/export", headers=_auth(tenant)).status_code == 200


def test_export_of_an_unknown_customer_is_404(client: Client, tenant: NewTenant) -> None:
    r = client.get("/v1/customers/nobody/export", headers=_auth(tenant))
    assert r.status_code == 404 and r.json()["code"] == "customer_not_found"


def test_cli_export_erase_and_audit_verify(client: Client, tenant: NewTenant, db_url: str) -> None:
    _seed(client, _auth(tenant))
    runner = CliRunner()
    exported = runner.invoke(cli_app, ["customers", "export", "cust-1", "--tenant", "acme", "--db", db_url])
    assert exported.exit_code == 0, exported.output
    assert EMAIL in exported.stdout
    erased = runner.invoke(
        cli_app, ["customers", "erase", "cust-1", "--tenant", "acme", "--yes", "--db", db_url]
    )
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["key_destroyed"] is True
    again = runner.invoke(cli_app, ["customers", "export", "cust-1", "--tenant", "acme", "--db", db_url])
    assert again.exit_code == 2 and "customer_not_found" in again.output
    verify = runner.invoke(cli_app, ["audit", "verify", "--db", db_url])
    assert verify.exit_code == 0, verify.output
