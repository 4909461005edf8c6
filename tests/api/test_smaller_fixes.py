"""Issue 11 item 12, the smaller promises: no lock-out by revoking the last admin key, 404 for the
context of an unknown customer, a re-sent event id with another text is a conflict, and one text
limit with one error code (API and CLI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tactful.api.app import create_app
from tactful.cli import app as cli_app
from tactful.config import Settings
from tactful.engine import Engine
from tactful.store import SqlStore
from tactful.tenants import NewTenant, issue_key, key_id_of
from tests.api.conftest import Client


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings()))
    yield c
    c.close()


def _auth(t: NewTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {t.api_key}"}


def test_the_last_admin_key_cannot_be_revoked(client: Client, tenant: NewTenant, store: SqlStore) -> None:
    own = key_id_of(tenant.api_key)
    refused = client.request("DELETE", f"/v1/keys/{own}", headers=_auth(tenant))
    assert refused.status_code == 409 and refused.json()["code"] == "last_admin_key"
    assert client.get("/v1/keys", headers=_auth(tenant)).status_code == 200  # not locked out
    second = issue_key(store, tenant.tenant.tenant_id, "admin")
    assert (
        client.request("DELETE", f"/v1/keys/{own}", headers={"Authorization": f"Bearer {second}"}).status_code
        == 200
    )
    last = key_id_of(second)
    again = client.request("DELETE", f"/v1/keys/{last}", headers={"Authorization": f"Bearer {second}"})
    assert again.status_code == 409 and again.json()["code"] == "last_admin_key"


def test_the_context_of_an_unknown_customer_is_404(client: Client, tenant: NewTenant) -> None:
    r = client.get("/v1/customers/nobody-at-all/context", headers=_auth(tenant))
    assert r.status_code == 404 and r.json()["code"] == "customer_not_found"


def test_a_resent_event_id_with_other_text_is_a_conflict(client: Client, tenant: NewTenant) -> None:
    body = {"customer_id": "c1", "conversation_id": "k1", "channel": "chat", "event_id": "evt-1"}
    first = client.post("/v1/messages", json={**body, "text": "where is my order?"}, headers=_auth(tenant))
    assert first.status_code == 200
    retry = client.post("/v1/messages", json={**body, "text": "where is my order?"}, headers=_auth(tenant))
    assert retry.status_code == 200 and retry.json()["decision_id"] == first.json()["decision_id"]
    other = client.post("/v1/messages", json={**body, "text": "cancel my account"}, headers=_auth(tenant))
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert "application/problem+json" in other.headers["content-type"]


@pytest.mark.parametrize("length", [4001, 5000, 16385, 20001, 40000])
def test_one_text_limit_with_one_code(client: Client, tenant: NewTenant, length: int) -> None:
    body = {"customer_id": "c1", "conversation_id": "k1", "channel": "chat", "text": "a" * length}
    r = client.post("/v1/messages", json=body, headers=_auth(tenant))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "text_too_long" and "4000 characters" in problem["detail"]


def test_empty_text_is_one_clear_error(client: Client, tenant: NewTenant) -> None:
    body = {"customer_id": "c1", "conversation_id": "k1", "channel": "chat", "text": ""}
    r = client.post("/v1/messages", json=body, headers=_auth(tenant))
    assert r.status_code == 422 and r.json()["code"] == "text_empty"


def test_the_cli_reports_text_limits_plainly(db_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["tenants", "create", "demo", "--db", db_url]).exit_code == 0
    empty = runner.invoke(cli_app, ["decide", "--db", db_url, "--text", ""])
    assert empty.exit_code == 2 and "text_empty" in empty.stderr and "pydantic" not in empty.stderr
    long = runner.invoke(cli_app, ["decide", "--db", db_url, "--text", "a" * 20001])
    assert long.exit_code == 2 and "text_too_long" in long.stderr and "4000 characters" in long.stderr
    assert "validation error" not in long.stderr
