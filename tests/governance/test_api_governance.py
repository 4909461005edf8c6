"""Governance over HTTP: the role matrix (generated from the OpenAPI document), rate limits, keys,
audit, retention and the compliance report."""

from __future__ import annotations

from typing import Any

import pytest

from tactful.api import roles
from tactful.governance.ratelimit import LocalLimiter, TokenBucketLimiter
from tactful.tenants import key_id_of
from tests.governance.conftest import Api

ROLES = ("admin", "decide", "auditor")
A, D, AU = "admin", "decide", "auditor"
# The intended matrix, written out independently of tactful.api.roles.MATRIX. An operation not
# listed here must be admin-only (the service's deny-by-default), so new endpoints are covered too.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/messages"): {A, D},
    ("GET", "/v1/decisions/{decision_id}"): {A, D, AU},
    ("POST", "/v1/outcomes"): {A, D},
    ("GET", "/v1/customers/{customer_id}"): {A, D},
    ("PUT", "/v1/customers/{customer_id}"): {A},
    ("GET", "/v1/customers/{customer_id}/preferences"): {A, D},
    ("PUT", "/v1/customers/{customer_id}/preferences"): {A, D},
    ("PATCH", "/v1/customers/{customer_id}/preferences"): {A, D},
    ("DELETE", "/v1/customers/{customer_id}"): {A},
    ("GET", "/v1/customers/{customer_id}/export"): {A},
    ("GET", "/v1/policies"): {A, D, AU},
    ("POST", "/v1/policies"): {A},
    ("GET", "/v1/policies/active"): {A, D, AU},
    ("GET", "/v1/policies/{version}"): {A, D, AU},
    ("POST", "/v1/policies/{version}/activate"): {A},
    ("POST", "/v1/policies/rollback"): {A},
    ("GET", "/v1/audit"): {A, AU},
    ("GET", "/v1/audit/verify"): {A, AU},
    ("GET", "/v1/reports/compliance"): {A, AU},
    ("GET", "/v1/keys"): {A},
    ("POST", "/v1/keys"): {A},
    ("DELETE", "/v1/keys/{key_id}"): {A},
    ("GET", "/v1/retention"): {A, AU},
    ("PUT", "/v1/retention"): {A},
    ("POST", "/v1/retention/purge"): {A},
    ("GET", "/v1/learning/status"): {A, AU},
    ("GET", "/v1/experiments"): {A, AU},
    ("GET", "/v1/experiments/{experiment_id}"): {A, AU},
    ("GET", "/v1/decisions/{decision_id}/delivery"): {A, D, AU},
    ("POST", "/v1/channels/webchat/sessions"): {A, D},
}
MSG = {"customer_id": "cust-1", "conversation_id": "conv-1", "channel": "chat", "text": "Where is my parcel?"}


def _operations(api: Api) -> list[tuple[str, str]]:
    spec = api.client.get("/openapi.json").json()
    found = [(m.upper(), p) for p, ops in spec["paths"].items() if p.startswith("/v1") for m in ops]
    # Provider webhooks carry the provider's signature instead of a key (tests/channels check them).
    return [op for op in found if op not in roles.SIGNED_WEBHOOKS]


def _concrete(template: str) -> str:
    # Any value will do: the role check runs before the handler looks anything up.
    return template.replace("{", "x").replace("}", "")


def test_every_operation_and_role_is_allowed_or_403_as_the_matrix_says(api: Api) -> None:
    operations = _operations(api)
    assert len(operations) >= 20
    for method, template in operations:
        expected = EXPECTED.get((method, template), {A})
        for role in ROLES:
            r = api.client.request(method, _concrete(template), headers=api.auth(role), json={})
            if role in expected:
                assert r.status_code not in (401, 403), (method, template, role, r.text)
            else:
                assert r.status_code == 403, (method, template, role, r.status_code)
                assert r.json()["code"] == "forbidden_role"


def test_the_service_matrix_agrees_with_the_written_one(api: Api) -> None:
    for operation in _operations(api):
        assert set(roles.allowed_roles(*operation)) == EXPECTED.get(operation, {A}), operation
    assert {op: set(r) for op, r in roles.MATRIX.items()} == EXPECTED


def test_an_exhausted_key_gets_429_with_retry_after_and_other_keys_do_not(api: Api) -> None:
    api.client.app.state.rate_limiter = LocalLimiter(TokenBucketLimiter(rate=0.5, burst=2, clock=lambda: 7.0))
    for _ in range(2):
        assert api.client.get("/v1/policies", headers=api.auth(A)).status_code == 200
    r = api.client.get("/v1/policies", headers=api.auth(A))
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "rate_limited"
    assert api.client.get("/v1/policies", headers=api.auth(AU)).status_code == 200


def test_a_key_made_over_http_works_until_revoked(api: Api) -> None:
    r = api.client.post("/v1/keys", json={"role": "decide"}, headers=api.auth(A))
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["role"] == "decide" and key_id_of(new["api_key"]) == new["key_id"]
    fresh = {"Authorization": f"Bearer {new['api_key']}"}
    assert api.client.get("/v1/policies/active", headers=fresh).status_code == 200
    listed = api.client.get("/v1/keys", headers=api.auth(A)).json()
    assert new["key_id"] in {k["key_id"] for k in listed}
    assert all("api_key" not in k and "key_hash" not in k for k in listed)
    r = api.client.request("DELETE", f"/v1/keys/{new['key_id']}", headers=api.auth(A))
    assert r.status_code == 200 and r.json()["revoked"] is True
    r = api.client.get("/v1/policies/active", headers=fresh)
    assert r.status_code == 401 and r.json()["code"] == "invalid_api_key"
    r = api.client.post("/v1/keys", json={"role": "root"}, headers=api.auth(A))
    assert r.status_code == 422


def test_audit_pages_and_verification(api: Api) -> None:
    page: dict[str, Any] = api.client.get("/v1/audit?limit=2", headers=api.auth(AU)).json()
    assert [e["seq"] for e in page["entries"]] == [1, 2] and page["next_after_seq"] == 2
    rest = api.client.get(
        f"/v1/audit?after_seq={page['next_after_seq']}&limit=1000", headers=api.auth(AU)
    ).json()
    assert rest["entries"][0]["seq"] == 3 and rest["next_after_seq"] is None
    assert rest["entries"][0]["prev_hash"] == page["entries"][-1]["hash"]
    verified = api.client.get("/v1/audit/verify", headers=api.auth(AU)).json()
    assert verified["ok"] is True and verified["checked"] == 2 + len(rest["entries"])
    assert api.client.get("/v1/audit?limit=0", headers=api.auth(AU)).status_code == 422


def test_retention_over_http(api: Api) -> None:
    r = api.client.put("/v1/retention", json={"kind": "decisions", "days": 30}, headers=api.auth(A))
    assert r.status_code == 200 and r.json()["days"]["decisions"] == 30
    r = api.client.put("/v1/retention", json={"kind": "nope", "days": 30}, headers=api.auth(A))
    assert r.status_code == 422 and r.json()["code"] == "invalid_retention_kind"
    r = api.client.post("/v1/retention/purge", headers=api.auth(A))
    assert r.status_code == 200
    assert {p["table"] for p in r.json()} == {"decisions", "outcomes", "learning_events", "decision_facts"}
    assert api.client.get("/v1/retention", headers=api.auth(AU)).json()["days"]["decisions"] == 30


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_the_compliance_report_over_http(api: Api, fmt: str) -> None:
    prefs = {"opted_out": ["sms", "voice"], "quiet_hours": None}
    assert (
        api.client.put("/v1/customers/cust-1/preferences", json=prefs, headers=api.auth(D)).status_code == 200
    )
    assert api.client.post("/v1/messages", json=MSG, headers=api.auth(D)).status_code == 200
    r = api.client.get(f"/v1/reports/compliance?since=2000-01-01&format={fmt}", headers=api.auth(AU))
    assert r.status_code == 200, r.text
    if fmt == "html":
        assert r.headers["content-type"].startswith("text/html") and "Compliance report" in r.text
        return
    report = r.json()
    assert report["decisions"] == 1 and report["decisions_unverifiable"] == 0
    assert report["opt_outs"]["decisions_with_opt_outs"] == 1
    assert report["violations"] == [] and report["audit_chain_ok"] is True
    assert api.client.get("/v1/reports/compliance?since=nope", headers=api.auth(AU)).status_code == 422


def test_16_simultaneous_first_requests_with_a_valid_key_all_pass(api: Api) -> None:
    """Issue 11 item 6: on a cold process 6 of 16 got 429 from the slow-key-check limiter."""
    responses = api.client.concurrently("GET", "/v1/policies/active", 16, headers=api.auth("admin"))
    assert [r.status_code for r in responses] == [200] * 16
