"""Tenant intent examples and models on SQLite and PostgreSQL: versions, tenant scoping."""

from __future__ import annotations

from tactful.domain import TenantId
from tactful.signals.tenant_intents import TenantIntentModel, add_and_train, tenant_intent_model
from tactful.store import SqlStore

_EXAMPLES = [
    *((f"where is my {t}", "delivery") for t in ("order", "parcel", "box", "shoes", "lamp")),
    *((f"refund my {t} please", "refund") for t in ("order", "parcel", "box", "shoes", "lamp")),
]


def test_examples_append_per_tenant(store: SqlStore) -> None:
    acme, globex = store.create_tenant("acme"), store.create_tenant("globex")
    a, g = TenantId(acme.tenant_id), TenantId(globex.tenant_id)
    assert store.intents.add_examples(a, [("hi", "x"), ("yo", "y")]) == 2
    assert store.intents.add_examples(a, [("hey", "x")]) == 3
    assert store.intents.examples(a) == [("hi", "x"), ("yo", "y"), ("hey", "x")]
    assert store.intents.examples(g) == []
    assert store.intents.latest_model(g) is None


def test_training_stores_a_new_version_used_by_that_tenant_only(store: SqlStore) -> None:
    acme, globex = store.create_tenant("acme"), store.create_tenant("globex")
    a = TenantId(acme.tenant_id)
    first = add_and_train(store, a, _EXAMPLES)
    assert first.version == 1 and first.n_examples == 10
    second = add_and_train(store, a, [("cancel my order", "cancel"), ("please cancel it", "cancel")])
    assert second.version == 2 and set(second.labels) == {"delivery", "refund", "cancel"}
    model = tenant_intent_model(store, a)
    assert isinstance(model, TenantIntentModel)
    assert model.predict("please cancel it").intent == "cancel"
    assert tenant_intent_model(store, TenantId(globex.tenant_id)) is None
    stored = store.intents.latest_model(a)
    assert stored is not None and stored.version == 2 and stored.n_examples == 12
