"""The heavy tiers are composites: their heads replace the fields they were trained for, every
other field (support intent, wants_human, risks, language, urgency) comes from the fast tier, and
``model_versions`` says which model produced what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tactful.domain import Signals
from tactful.domain.signals import SentimentLabel
from tactful.signals.base import TierUnavailable, Vectors
from tactful.signals.heads import Head, HeadSet
from tactful.signals.heavy import Concatenated, HeavyTier, heavy_tier
from tactful.signals.recipes import EMOTIONS, OTHER

BASE = Signals(
    language="es",
    language_confidence=0.9,
    intent="order_status",
    intent_confidence=0.8,
    wants_human=0.7,
    risks={"legal_threat": 0.6},
    urgency=0.4,
    anger=0.1,
    emotions={e: 0.1 for e in EMOTIONS},
    tier="fast",
    model_versions={"intent": "intent-fast@2", "sentiment": "sentiment-fast@2", "tier": "fast-2"},
    confidences={"intent": 0.8, "language": 0.9},
)


class Base:
    """The fast tier as the composite sees it: ``extract_batch`` and its intent head's labels."""

    name = "fast"

    def __init__(self, intent_labels: tuple[str, ...]) -> None:
        head = Head("intent-fast", "2", "softmax", intent_labels, 0, len(intent_labels))
        self.heads = HeadSet(
            np.zeros((1, len(intent_labels)), np.float32), np.zeros(0, np.float32), {"intent": head}, {}
        )

    def extract_batch(self, texts: Sequence[str]) -> list[Signals]:
        return [BASE for _ in texts]


class Fixed:
    """An encoder giving one fixed unit row per text, chosen by the text."""

    name, version, dim = "fixed", "fixed-1", 2

    def encode(self, texts: Sequence[str]) -> Vectors:
        return np.array([[1.0, 0.0] if "!" in t else [0.0, 1.0] for t in texts], dtype=np.float32)


def _heads(with_intent: tuple[str, ...] | None) -> HeadSet:
    """Angry ("!") rows: negative sentiment and anger; calm rows: positive and neutral."""
    spec: list[tuple[str, str, tuple[str, ...], list[list[float]]]] = [
        ("sentiment", "softmax", ("negative", "neutral", "positive"), [[4, 0, 0], [0, 0, 4]]),
        ("emotion", "softmax", ("anger", "joy", "optimism", "sadness"), [[4, 0, 0, 0], [0, 4, 0, 0]]),
        ("emotions", "softmax", (*EMOTIONS, "neutral", OTHER), [[6] + [0] * 9, [0] * 8 + [6, 0]]),
        ("politeness", "linear", ("score",), [[-3], [3]]),
    ]
    if with_intent:
        spec.append(
            ("intent", "softmax", with_intent, [[0] * len(with_intent), [5] + [0] * (len(with_intent) - 1)])
        )
    heads, blocks, start = {}, [], 0
    for signal, kind, labels, w in spec:
        heads[signal] = Head(f"{signal}-test", "9", kind, labels, start, start + len(labels))  # type: ignore[arg-type]
        blocks.append(np.array(w, dtype=np.float32))
        start += len(labels)
    return HeadSet(np.hstack(blocks), np.zeros(start, np.float32), heads, {"version": "9.0.0"})


def test_heads_replace_their_fields_and_the_fast_tier_fills_the_rest() -> None:
    tier = HeavyTier("transformer", Fixed(), _heads(None), Base(("order_status", "refund", "other")))
    angry, calm = tier.extract_batch(["This is a disgrace!", "thanks"])
    assert angry.sentiment is SentimentLabel.NEGATIVE and calm.sentiment is SentimentLabel.POSITIVE
    assert angry.valence < -0.9 < 0.9 < calm.valence
    assert angry.anger > 0.9 and angry.anger == angry.emotions["anger"]
    assert calm.anger < 0.05 and calm.politeness > 0.9 > 0.1 > angry.politeness
    for signals in (angry, calm):
        # no head here for these: the fast tier's values stand
        assert (signals.intent, signals.intent_confidence, signals.wants_human) == ("order_status", 0.8, 0.7)
        assert (signals.risks, signals.language, signals.urgency) == ({"legal_threat": 0.6}, "es", 0.4)
        assert signals.formality == BASE.formality and signals.injection == BASE.injection
        assert signals.tier == "transformer"
        versions = signals.model_versions
        assert versions["sentiment"] == "sentiment-test@9" and versions["intent"] == "intent-fast@2"
        assert versions["tier"] == "transformer-9.0.0" and versions["base_tier"] == "fast-2"
        assert versions["encoder"] == "fixed-1"
    assert tier.extract("thanks") == calm
    assert tier.extract_batch([]) == []
    with pytest.raises(TypeError):
        tier.extract_batch("one string")


def test_an_intent_head_is_used_only_in_the_fast_tiers_taxonomy() -> None:
    same = ("order_status", "refund", "other")
    tier = HeavyTier("transformer", Fixed(), _heads(same), Base(same))
    signals = tier.extract("where is it")
    assert signals.intent == "order_status" and signals.model_versions["intent"] == "intent-test@9"
    assert signals.intent_confidence == signals.confidences["intent"] > 0.9
    other_taxonomy = HeavyTier("transformer", Fixed(), _heads(("track_order", "x")), Base(same))
    kept = other_taxonomy.extract("where is it")
    assert kept.intent_confidence == 0.8 and kept.model_versions["intent"] == "intent-fast@2"


def test_concatenated_encoder_keeps_each_part() -> None:
    both = Concatenated("pair", [Fixed(), Fixed()])
    rows = both.encode(["a!", "b"])
    assert rows.shape == (2, 4) and both.dim == 4 and both.version == "fixed-1+fixed-1"
    np.testing.assert_array_equal(rows[:, :2], rows[:, 2:])
    with pytest.raises(ValueError):
        Concatenated("none", [])


def test_missing_heads_say_how_to_train_them(tmp_path: Path) -> None:
    with pytest.raises(TierUnavailable, match="tactful train all --tier multilingual"):
        heavy_tier("multilingual", tmp_path)
    with pytest.raises(ValueError, match="unknown heavy tier"):
        heavy_tier("embed", tmp_path)


def test_hashed_ngrams_are_tf_idf_per_block_and_stateless() -> None:
    from tactful.signals.hashed import COLUMNS_PER_BLOCK, HashedNgrams

    texts = ["where is my refund", "where is my parcel", "refund refund now", "hello"]
    fitted = HashedNgrams.fit(texts)
    rows = fitted.transform(["where is my refund", "zzz qqq"])
    assert rows.shape == (2, 2 * COLUMNS_PER_BLOCK)
    word, char = rows[:, :COLUMNS_PER_BLOCK], rows[:, COLUMNS_PER_BLOCK:]
    np.testing.assert_allclose(np.sqrt(word.multiply(word).sum(axis=1)).A1, [1.0, 0.0], atol=1e-6)
    assert char[0].nnz > word[0].nnz > 0
    assert char[1].nnz == 0  # n-grams seen in fewer than two training texts weigh nothing
    again = HashedNgrams(fitted.idf).transform(["where is my refund"])
    assert (again != rows[0]).nnz == 0  # the same columns and values from the idf alone
    with pytest.raises(ValueError):
        HashedNgrams(np.zeros(3, np.float32))


def test_heavy_tiers_keep_their_own_registry_files(tmp_path: Path) -> None:
    from tactful.signals import hub

    artifact = tmp_path / "transformer.npz"
    heads = _heads(None)
    heads.save(artifact)
    figures = {"sentiment": {"macro_recall": 0.7, "n": 3}}
    hub.record(tmp_path, "transformer", artifact, heads, figures)
    fast = HeadSet(
        heads.weights, heads.bias, {"sentiment": replace(heads.heads["sentiment"], name="sentiment-fast")}, {}
    )
    hub.record(tmp_path, "fast", artifact, fast, figures)
    assert sorted(p.name for p in tmp_path.glob("registry*.json")) == [
        "registry-transformer.json",
        "registry.json",
    ]
    assert set(hub.read_registry(tmp_path)["models"]) == {"sentiment-test", "sentiment-fast"}


@pytest.mark.parametrize("name", ["multilingual", "transformer"])
def test_the_shipped_heavy_tiers_read_real_messages(name: str) -> None:
    """The shipped artifacts load in the default install (numpy only) and fill every field: their
    own heads and the fast tier's intent, wants_human and risks side by side."""
    from tactful.signals.tiers import load_tier

    tier = load_tier(name)
    angry = {
        "multilingual": "¡Es la tercera vez que escribo y nadie responde! Sois unos inútiles, quiero mi "
        "dinero YA",
        "transformer": "This is the third time I'm writing and nobody answers. Useless company, I want my "
        "money back NOW",
    }[name]
    thanks = {
        "multilingual": "¡Muchísimas gracias, ya funciona todo perfectamente!",
        "transformer": "Thanks so much, that fixed it!",
    }[name]
    a, t = tier.extract_batch([angry, thanks])
    assert a.tier == t.tier == name
    assert a.sentiment is SentimentLabel.NEGATIVE and t.sentiment is SentimentLabel.POSITIVE
    assert a.anger > 0.4 > t.anger
    assert a.model_versions["sentiment"] == f"sentiment-{name}@1.0.0"
    assert a.model_versions["intent"].startswith("intent-fast@")
    assert tier.extract(angry) == a
