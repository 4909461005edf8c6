"""The HTTP API in-process: happy paths, auth, tenant scoping and bad input (4xx, nothing stored)."""

from __future__ import annotations

from typing import Any

import pytest

from tactful.api.roles import SIGNED_WEBHOOKS
from tactful.store.base import Store
from tactful.tenants import NewTenant, governance_of, issue_key, key_id_of
from tests.api.conftest import Client

MSG = {
    "customer_id": "cust-1",
    "conversation_id": "conv-1",
    "channel": "chat",
    "text": "I was charged twice for my order, please refund it. Thanks",
}


def state(store: Store, tenant: NewTenant) -> tuple[int, int, int]:
    """What bad input must not change: audit entries, policy versions, and decisions (by audit)."""
    tid = tenant.tenant.tenant_id
    entries = store.audit.entries(tid)
    return len(entries), len(store.list_policies(tid)), sum(e.kind == "decision" for e in entries)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


def test_post_message_returns_an_explained_decision(client: Client, auth: dict[str, str]) -> None:
    r = client.post("/v1/messages", json=MSG, headers=auth)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["action"]["type"] in {
        "reply",
        "clarify",
        "handoff_human",
        "escalate",
        "offer_callback",
        "switch_channel",
        "no_contact",
    }
    assert d["channel"]["primary"] == "chat"
    assert d["explanation"]["rules_fired"]
    assert d["reply"]["text"]
    got = client.get(f"/v1/decisions/{d['decision_id']}", headers=auth)
    assert got.status_code == 200 and got.json() == d


def test_same_event_id_returns_the_same_decision(client: Client, auth: dict[str, str]) -> None:
    first = client.post("/v1/messages", json={**MSG, "event_id": "evt-1"}, headers=auth).json()
    second = client.post("/v1/messages", json={**MSG, "event_id": "evt-1"}, headers=auth).json()
    assert first == second


REVOKED = {"Authorization": "<a revoked key>"}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, REVOKED]
)
def test_every_v1_endpoint_needs_a_valid_key(
    client: Client, headers: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    # Generated from the OpenAPI document, so a new endpoint is covered the day it is added.
    if headers is REVOKED:
        revoked = issue_key(store, tenant.tenant.tenant_id, "admin")
        governance_of(store).revoke_key(tenant.tenant.tenant_id, key_id_of(revoked) or "", by="test")
        headers = {"Authorization": f"Bearer {revoked}"}
    paths = {p: ops for p, ops in client.get("/openapi.json").json()["paths"].items() if p.startswith("/v1")}
    assert len(paths) >= 10
    for template, operations in paths.items():
        path = (
            template.replace("{decision_id}", "dec_x")
            .replace("{customer_id}", "c1")
            .replace("{version}", "1")
        )
        # Provider webhooks authenticate by the provider's signature, not by an API key.
        webhook = any(path == template for _, path in SIGNED_WEBHOOKS)
        expected = (
            {"invalid_signature"}
            if webhook
            else {"missing_api_key", "invalid_api_key", "invalid_auth_scheme"}
        )
        for method in operations:
            body_kw: dict[str, Any] = {"content": b""} if webhook else {"json": {}}
            r = client.request(
                method.upper(),
                path,
                headers=headers,
                params={"tenant_id": tenant.tenant.tenant_id},
                **body_kw,
            )
            body = problem(r, 401, r.json()["code"])
            assert body["code"] in expected, (method, path)


def test_another_tenants_decision_is_not_found(
    client: Client, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    d = client.post("/v1/messages", json=MSG, headers=auth).json()
    problem(client.get(f"/v1/decisions/{d['decision_id']}", headers=other_auth), 404, "decision_not_found")
    r = client.post(
        "/v1/outcomes", json={"decision_id": d["decision_id"], "type": "resolved"}, headers=other_auth
    )
    problem(r, 404, "decision_not_found")


def test_malformed_json_is_400_and_stores_nothing(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    before = state(store, tenant)
    r = client.post(
        "/v1/messages",
        content=b'{"customer_id": "c1", "text": ',
        headers={**auth, "Content-Type": "application/json"},
    )
    problem(r, 400, "malformed_json")
    assert state(store, tenant) == before


def test_invalid_utf8_is_400(client: Client, auth: dict[str, str], store: Store, tenant: NewTenant) -> None:
    before = state(store, tenant)
    body = b'{"customer_id": "c1", "conversation_id": "v1", "channel": "chat", "text": "caf\xe9 \xff"}'
    r = client.post("/v1/messages", content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    assert state(store, tenant) == before


def test_unknown_channel_is_422(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    before = state(store, tenant)
    body = problem(
        client.post("/v1/messages", json={**MSG, "channel": "pigeon"}, headers=auth), 422, "unknown_channel"
    )
    assert body["errors"][0]["loc"] == ["body", "channel"]
    assert state(store, tenant) == before


def test_a_one_megabyte_text_is_413_before_parsing(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    before = state(store, tenant)
    problem(
        client.post("/v1/messages", json={**MSG, "text": "a" * 1_000_000}, headers=auth),
        413,
        "payload_too_large",
    )
    assert state(store, tenant) == before


def test_text_over_the_engine_limit_is_422(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    before = state(store, tenant)
    problem(
        client.post("/v1/messages", json={**MSG, "text": "word " * 2000}, headers=auth), 422, "text_too_long"
    )
    assert state(store, tenant) == before


def test_a_policy_with_a_syntax_error_is_422_with_its_line(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    before = state(store, tenant)
    bad = "schema_version: 1\nrules:\n  - id: broken\n    kind: tone\n    when: 'signals.valence <'\n"
    body = problem(client.post("/v1/policies", json={"source": bad}, headers=auth), 422, "policy_invalid")
    assert body["line"] is not None and body["rule_id"] == "broken"
    yaml_error = "rules: [\n  - id: x\n"
    body = problem(
        client.post("/v1/policies", json={"source": yaml_error}, headers=auth), 422, "policy_invalid"
    )
    assert body["line"] is not None
    assert state(store, tenant) == before


def test_policy_publish_activate_and_rollback(client: Client, auth: dict[str, str]) -> None:
    active = client.get("/v1/policies/active", headers=auth).json()
    edited = active["source"].replace("schema_version: 1", "schema_version: 1\n# a comment only", 1)
    same = client.post("/v1/policies", json={"source": edited}, headers=auth)
    assert same.status_code == 200 and same.json()["version"] == active["version"]  # same content hash
    changed = active["source"] + "\n"
    import yaml

    doc = yaml.safe_load(active["source"])
    doc["rules"] = doc["rules"][:-1]
    changed = yaml.safe_dump(doc)
    r = client.post("/v1/policies", json={"source": changed, "activate": True}, headers=auth)
    assert r.status_code == 201 and r.json()["active"] and r.json()["version"] == active["version"] + 1
    d = client.post("/v1/messages", json=MSG, headers=auth).json()
    assert d["policy_version"] == r.json()["label"]
    back = client.post("/v1/policies/rollback", headers=auth)
    assert back.status_code == 200 and back.json()["version"] == active["version"]
    assert [v["active"] for v in client.get("/v1/policies", headers=auth).json()] == [True, False]
    problem(client.post("/v1/policies/99/activate", headers=auth), 404, "policy_version_not_found")


def test_outcomes(client: Client, auth: dict[str, str]) -> None:
    d = client.post("/v1/messages", json=MSG, headers=auth).json()
    body = {"decision_id": d["decision_id"], "type": "csat", "value": 4, "event_id": "out-1"}
    assert client.post("/v1/outcomes", json=body, headers=auth).status_code == 201
    again = client.post("/v1/outcomes", json=body, headers=auth)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    problem(
        client.post("/v1/outcomes", json={**body, "event_id": "out-2", "value": 9}, headers=auth),
        422,
        "invalid_csat",
    )
    problem(
        client.post(
            "/v1/outcomes", json={**body, "event_id": "out-3", "decision_id": "dec_nope"}, headers=auth
        ),
        404,
        "decision_not_found",
    )


def test_customers_and_preferences(client: Client, auth: dict[str, str], other_auth: dict[str, str]) -> None:
    problem(client.get("/v1/customers/c9", headers=auth), 404, "customer_not_found")
    r = client.put(
        "/v1/customers/c9", json={"profile": {"tier": "vip", "time_zone": "Europe/Paris"}}, headers=auth
    )
    assert r.status_code == 200 and r.json()["version"] == 1
    problem(
        client.put("/v1/customers/c9", json={"profile": {"time_zone": "Mars/Olympus"}}, headers=auth),
        422,
        "validation_error",
    )
    prefs = client.put(
        "/v1/customers/c9/preferences", json={"opted_out": ["sms"], "personalisation": "low"}, headers=auth
    )
    assert prefs.status_code == 200 and prefs.json()["opted_out"] == ["sms"]
    got = client.get("/v1/customers/c9", headers=auth).json()
    assert got["profile"]["tier"] == "vip" and got["preferences"]["personalisation"] == "low"
    assert got["version"] == 2
    problem(client.get("/v1/customers/c9", headers=other_auth), 404, "customer_not_found")
    d = client.post("/v1/messages", json={**MSG, "customer_id": "c9", "channel": "sms"}, headers=auth).json()
    assert d["channel"]["primary"] != "sms"


def test_health_ready_metrics_and_openapi(client: Client, auth: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"store": "ok", "rate_limit": "ok"}}
    client.post("/v1/messages", json=MSG, headers=auth)
    metrics = client.get("/metrics").text
    assert "tactful_decisions_total{action=" in metrics
    spec = client.get("/openapi.json").json()
    assert "/v1/messages" in spec["paths"] and "/v1/decisions/{decision_id}" in spec["paths"]
