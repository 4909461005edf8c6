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
