"""Tenant isolation, generated from the OpenAPI document.

For every ``/v1`` operation with a resource in its path (or a body naming another resource), tenant
B's admin key is sent against tenant A's resource. The answer must be 404 — the same as for a
resource that does not exist, so B learns nothing — and A's data and audit chain must be exactly
as before. Upserts (``PUT``) may instead succeed, but only on B's own namespace: A stays unchanged.

New endpoints are picked up automatically. A path parameter this file does not know how to create
a resource for fails the suite loudly: add a creator to ``CREATORS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tactful.config import default_policy_file
from tactful.governance import retention
from tactful.store.base import Store
from tactful.tenants import NewTenant, governance_of, issue_key, key_id_of
from tests.api.conftest import Client


@dataclass
class Ctx:
    client: Client
    store: Store
    a: NewTenant
    a_auth: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)


def _decision(ctx: Ctx) -> str:
    body = {
        "customer_id": "cust-a",
        "conversation_id": "conv-a",
        "channel": "chat",
        "text": "Refund my order",
    }
    r = ctx.client.post("/v1/messages", json=body, headers=ctx.a_auth)
    assert r.status_code == 200, r.text
    return str(r.json()["decision_id"])


def _customer(ctx: Ctx) -> str:
    body = {"profile": {"tier": "vip", "tenure_days": 900}, "preferences": {"opted_out": ["sms"]}}
    r = ctx.client.put("/v1/customers/cust-a", json=body, headers=ctx.a_auth)
    assert r.status_code == 200, r.text
    return "cust-a"


def _policy_version(ctx: Ctx) -> str:
    # A version number tenant A has and tenant B does not (B has only its version 1).
    source = default_policy_file().read_text(encoding="utf-8")
    version = 0
    for n in (2, 3):
        revised = source.replace("description: ", f"description: (revision {n}) ", 1)
        r = ctx.client.post("/v1/policies", json={"source": revised}, headers=ctx.a_auth)
        assert r.status_code == 201, r.text
        version = r.json()["version"]
    return str(version)


def _key(ctx: Ctx) -> str:
    key_id = key_id_of(issue_key(ctx.store, ctx.a.tenant.tenant_id, "decide"))
    assert key_id is not None
    return key_id


def _experiment(ctx: Ctx) -> str:
    source = default_policy_file().read_text(encoding="utf-8")
    revised = source.replace("description: ", "description: (experiment) ", 1)
    r = ctx.client.post("/v1/policies", json={"source": revised}, headers=ctx.a_auth)
    assert r.status_code == 201, r.text
    body = {"kind": "ab", "candidate_version": r.json()["version"], "name": "A's test"}
    r = ctx.client.post("/v1/experiments", json=body, headers=ctx.a_auth)
    assert r.status_code == 201, r.text
    return str(r.json()["experiment_id"])


TWILIO = {"fields": {"account_sid": "AC" + "0" * 32, "auth_token": "secret-a", "from_number": "+15550100"}}


def _provider(ctx: Ctx) -> str:
    r = ctx.client.put("/v1/channels/credentials/twilio", json=TWILIO, headers=ctx.a_auth)
    assert r.status_code == 204, r.text
    return "twilio"


#: How to create one of tenant A's resources for each path parameter.
CREATORS: dict[str, Callable[[Ctx], str]] = {
    "decision_id": _decision,
    "customer_id": _customer,
    "version": _policy_version,
    "key_id": _key,
    "experiment_id": _experiment,
    "provider": _provider,
}

#: Ids of the same shape that exist in no tenant.
GHOSTS = {
    "decision_id": "dec_ghost",
    "customer_id": "cust-ghost",
    "version": "999",
    "key_id": "key_0000000000000000",
    "experiment_id": "exp_ghost",
    "provider": "slack",
}

#: Operations without a path parameter whose body names one of A's resources.
BODY_REFERENCES: dict[tuple[str, str], Callable[[dict[str, str]], dict[str, Any]]] = {
    ("POST", "/v1/outcomes"): lambda ids: {"decision_id": ids["decision_id"], "type": "resolved"},
    # A version number only A has: B cannot start an experiment on it.
    ("POST", "/v1/experiments"): lambda ids: {"kind": "ab", "candidate_version": int(ids["version"])},
}

#: Bodies that pass validation, so B's request reaches the handler's tenant-scoped lookup.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/customers/{customer_id}"): {"profile": {"tier": "standard"}},
    ("PUT", "/v1/customers/{customer_id}/preferences"): {"opted_out": []},
    ("PUT", "/v1/channels/credentials/{provider}"): TWILIO,
    ("PATCH", "/v1/customers/{customer_id}/preferences"): {"personalisation": "low"},
}


def _a_state(ctx: Ctx) -> str:
    """Everything of A's a request could change, as one comparable text."""
    tid = ctx.a.tenant.tenant_id
    gov = governance_of(ctx.store)
    state = {
        "audit": [(e.seq, e.kind, e.hash) for e in ctx.store.audit.entries(tid, limit=100_000)],
        "customer": ctx.store.get_customer(tid, "cust-a"),  # type: ignore[arg-type]
        "keys": [(k.key_id, k.revoked) for k in gov.list_keys(tid)],
        "policies": [(p.version, p.active) for p in ctx.store.list_policies(tid)],
        "retention": retention.retention(ctx.store, tid),
        "decision": ctx.store.get_decision(tid, ctx.ids["decision_id"]),  # type: ignore[arg-type]
        "experiments": [
            (e.experiment_id, e.state, e.share, e.revision)
            for e in ctx.store.experiments.list_experiments(tid)  # type: ignore[attr-defined]
        ],
    }
    return json.dumps(state, default=repr, sort_keys=True)


def _targets(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, op in operations.items():
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            if names or (method.upper(), path) in BODY_REFERENCES:
                found.append((method.upper(), path, names))
    return found


def _create_resources(ctx: Ctx, names: set[str]) -> None:
    unknown = sorted(names - set(CREATORS))
    if unknown:
        pytest.fail(f"no way to create a {unknown} resource for the isolation suite: add it to CREATORS")
    for name in sorted(names):
        ctx.ids[name] = CREATORS[name](ctx)


def test_tenant_b_gets_404_for_every_resource_of_tenant_a_and_changes_nothing(
    client: Client, store: Store, tenant: NewTenant, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    ctx = Ctx(client, store, tenant, auth)
    targets = _targets(client.get("/openapi.json").json())
    assert len(targets) >= 10
    _create_resources(ctx, {n for _, _, names in targets for n in names} | {"decision_id"})

    checked = []
    # Upserts last: once B has PUT its own "cust-a", B's reads of that id rightly find B's own.
    for method, template, names in sorted(targets, key=lambda t: t[0] == "PUT"):
        path = template
        for name in names:
            path = path.replace("{" + name + "}", ctx.ids[name])
        body = (
            BODY_REFERENCES[(method, template)](ctx.ids)
            if (method, template) in BODY_REFERENCES
            else BODIES.get((method, template))
        )
        before = _a_state(ctx)
        r = client.request(method, path, headers=other_auth, json=body)
        after = _a_state(ctx)
        assert after == before, f"{method} {path} by tenant B changed tenant A's data"
        if method == "PUT" and r.status_code in (200, 201, 204):
            continue  # an upsert into B's own namespace; A unchanged (checked above)
        if r.status_code != 404 and method == "GET":
            # A read that answers for any id (defaults for an unknown customer) is still safe when
            # A's resource looks exactly like one that exists nowhere: same status, same body.
            ghost = template
            for name in names:
                ghost = ghost.replace("{" + name + "}", GHOSTS[name])
            g = client.request(method, ghost, headers=other_auth)
            masked = r.text
            for name in names:
                masked = masked.replace(ctx.ids[name], GHOSTS[name])
            assert (g.status_code, g.text) == (r.status_code, masked), (method, template, r.text)
            checked.append((method, template))
            continue
        assert r.status_code == 404, (method, template, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        # Nothing of A's resource leaks into the answer beyond the id B itself sent.
        assert "vip" not in r.text and "Refund" not in r.text
        checked.append((method, template))
    assert ("GET", "/v1/decisions/{decision_id}") in checked and ("DELETE", "/v1/keys/{key_id}") in checked
    # A's own key still sees all of it.
    assert client.get(f"/v1/decisions/{ctx.ids['decision_id']}", headers=auth).status_code == 200
    assert client.get("/v1/customers/cust-a", headers=auth).json()["profile"]["tier"] == "vip"
    assert all(v.ok for v in store.audit.verify())


def test_an_unknown_path_parameter_fails_loudly(client: Client, store: Store, tenant: NewTenant) -> None:
    spec = {
        "paths": {"/v1/widgets/{widget_id}": {"get": {"parameters": [{"name": "widget_id", "in": "path"}]}}}
    }
    ((_, _, names),) = _targets(spec)
    with pytest.raises(pytest.fail.Exception, match="widget_id"):
        _create_resources(Ctx(client, store, tenant, {}), set(names))
