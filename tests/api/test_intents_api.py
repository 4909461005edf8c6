"""POST /v1/intents/examples: admin only, trains the tenant's model, 4xx for bad input."""

from __future__ import annotations

from tactful.store.base import Store
from tactful.tenants import NewTenant, issue_key
from tests.api.conftest import Client

_BODY = [
    *({"text": f"where is my {t}", "label": "delivery"} for t in ("order", "parcel", "box", "shoes", "lamp")),
    *(
        {"text": f"refund my {t} please", "label": "refund"}
        for t in ("order", "parcel", "box", "shoes", "lamp")
    ),
]


def test_admin_uploads_examples_and_gets_a_model(client: Client, auth: dict[str, str]) -> None:
    r = client.post("/v1/intents/examples", json=_BODY, headers=auth)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1 and body["n_examples"] == 10
    assert set(body["labels"]) == {"delivery", "refund"}
    assert 0.0 <= body["threshold"] < 1.0


def test_non_admin_keys_are_refused(client: Client, store: Store, tenant: NewTenant) -> None:
    key = issue_key(store, tenant.tenant.tenant_id, "decide")
    r = client.post("/v1/intents/examples", json=_BODY, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403


def test_bad_examples_are_4xx_and_store_nothing(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    one_label = [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}]
    r = client.post("/v1/intents/examples", json=one_label, headers=auth)
    assert r.status_code == 422 and r.json()["code"] == "intent_examples_too_few"
    r = client.post("/v1/intents/examples", json=[{"text": "", "label": "x"}], headers=auth)
    assert r.status_code == 422
    assert store.intents.examples(tenant.tenant.tenant_id) == []  # type: ignore[attr-defined]


def test_the_tenants_own_intents_drive_its_next_decisions(client: Client, auth: dict[str, str]) -> None:
    message = {"customer_id": "c-1", "conversation_id": "k-1", "channel": "chat", "text": "where is my lamp"}
    before = client.post("/v1/messages", json={**message, "event_id": "e-1"}, headers=auth).json()
    assert "tenant_intent" not in before["model_versions"]

    assert client.post("/v1/intents/examples", json=_BODY, headers=auth).status_code == 201
    after = client.post("/v1/messages", json={**message, "event_id": "e-2"}, headers=auth)
    assert after.status_code == 200, after.text
    decision = after.json()
    assert decision["model_versions"]["tenant_intent"].startswith("tenant-intent@")
    assert decision["explanation"]["signals"]["intent"] == "delivery"
    assert decision["reply"]["text"]  # an intent the templates do not know still renders a reply
