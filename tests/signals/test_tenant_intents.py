"""Tenant intent models: training, out-of-scope threshold, storage round trip, determinism."""

from __future__ import annotations

import pytest

from tactful.errors import InputRejected
from tactful.signals.tenant_intents import OOS, TenantIntentModel, train_intents

_TEMPLATES = {
    "refund": [
        "i want a refund for {}",
        "give me my money back for {}",
        "refund the {} please",
        "can i return the {} for a refund",
    ],
    "delivery": [
        "where is my {}",
        "my {} has not arrived",
        "when will the {} be delivered",
        "track the {} delivery",
    ],
    "password": [
        "i forgot my password for {}",
        "reset my {} password",
        "cannot log in to {}",
        "locked out of my {} account",
    ],
}
_THINGS = ["order", "parcel", "shoes", "laptop", "app", "jacket", "phone", "account"]
_OFF_TOPIC = [
    "what is the weather tomorrow",
    "tell me a joke",
    "how tall is the eiffel tower",
    "play some jazz",
    "what's a good pasta recipe",
    "who won the game last night",
    "set an alarm for 7",
    "how do i say hello in french",
    "what time is it in tokyo",
    "book a table for two",
    "translate cat to german",
    "what is the capital of peru",
]


def _examples() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, templates in _TEMPLATES.items():
        for template in templates:
            for thing in _THINGS:
                texts.append(template.format(thing))
                labels.append(label)
    for text in _OFF_TOPIC:
        texts.append(text)
        labels.append(OOS)
    return texts, labels


@pytest.fixture(scope="module")
def model() -> TenantIntentModel:
    return train_intents(*_examples())


def test_predicts_the_tenants_intents(model: TenantIntentModel) -> None:
    assert model.predict("where is my new sofa").intent == "delivery"
    assert model.predict("I need a refund for the sofa").intent == "refund"
    assert model.predict("reset the password on my tablet").intent == "password"
    assert set(model.labels) == {"refund", "delivery", "password", OOS}


def test_out_of_scope_threshold_comes_from_held_out_examples(model: TenantIntentModel) -> None:
    assert 0.0 <= model.threshold < 1.0
    assert model.metrics["held_out"] > 0
    assert {"in_scope_accuracy", "oos_recall"} <= set(model.metrics)


def test_bytes_round_trip_predicts_the_same(model: TenantIntentModel) -> None:
    again = TenantIntentModel.from_bytes(model.to_bytes())
    for text in ("where is my parcel", "what's the weather", "refund please"):
        assert again.predict(text) == model.predict(text)
    assert again.threshold == model.threshold and again.labels == model.labels


def test_training_is_deterministic(model: TenantIntentModel) -> None:
    assert train_intents(*_examples()).to_bytes() == model.to_bytes()


def test_too_few_examples_are_rejected_clearly() -> None:
    with pytest.raises(InputRejected, match="at least two intents"):
        train_intents(["a", "b"], ["x", "x"])
    with pytest.raises(InputRejected, match="too few for: y"):
        train_intents(["a", "b", "c"], ["x", "x", "y"])
    with pytest.raises(InputRejected, match="example 1: text"):
        train_intents(["a", " "], ["x", "y"])


def test_with_tenant_intent_overrides_the_tier_intent(model: TenantIntentModel) -> None:
    from tactful.domain import Signals
    from tactful.signals.tenant_intents import with_tenant_intent

    base = Signals(intent="billing", intent_confidence=0.9, model_versions={"lexicon": "lexicon-1.0.0"})
    assert with_tenant_intent(base, None, "where is my parcel") is base
    updated = with_tenant_intent(base, model, "where is my parcel")
    assert updated.intent == "delivery"
    assert updated.model_versions["tenant_intent"] == model.ref and model.ref.startswith("tenant-intent@")
    off_topic = with_tenant_intent(base, model, "what is the capital of peru, tell me a joke")
    assert off_topic.intent in ("other", "refund", "delivery", "password")  # "oos" never leaks out
