"""The support-intent layer on the shipped fast tier: real phrasings land in their family, requests
for a person and risks are flagged in six languages, angry messages read as angry, and input with
nothing to route by gets a low-confidence answer instead of a crash."""

from __future__ import annotations

import csv
import io

import pytest

from tactful.domain.intents import CLEAR_SUPPORT_INTENTS, SupportIntent
from tactful.signals.datasets import data_dir
from tactful.signals.support.turns import LABELS_FILE, RESERVED_BUCKET, bucket
from tactful.signals.tiers import load_tier

LOW = 0.4  # the default policy's low_intent_confidence: below it, the engine asks a question


@pytest.fixture(scope="module")
def fast():  # type: ignore[no-untyped-def]
    return load_tier("fast")


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("where is my order?", "order_status"),
        ("my package hasn't arrived", "order_status"),
        ("I want to cancel my subscription", "cancellation"),
        ("Let me speak to your manager", "human_agent"),
        ("representative", "human_agent"),
        ("a question about my bill", "billing"),
        ("I need a copy of my invoice", "billing"),
        ("the app crashes every time I open it", "technical_issue"),
        ("Thanks so much, that fixed it!", "thanks"),
        ("URGENT account hacked, money stolen", "fraud"),
        ("¿Dónde está mi pedido? Todavía no ha llegado", "order_status"),
        ("Mein Internet funktioniert seit gestern nicht", "technical_issue"),
        ("Je veux résilier mon abonnement", "cancellation"),
        ("Ho bisogno di una copia della fattura", "billing"),
        ("Não consigo entrar na minha conta", "account_access"),
    ],
)
def test_support_messages_get_their_family_with_confidence(fast, text: str, family: str) -> None:  # type: ignore[no-untyped-def]
    signals = fast.extract(text)
    assert signals.intent == family
    assert signals.intent_confidence >= LOW


@pytest.mark.parametrize(
    "text",
    [
        "Let me speak to your manager",
        "representative",
        "agent please",
        "can I talk to a real person",
        "quiero hablar con una persona",
        "Ich möchte einen Mitarbeiter sprechen",
        "je veux parler à un conseiller",
        "voglio parlare con un operatore",
        "quero falar com um atendente",
    ],
)
def test_requests_for_a_person_in_any_language(fast, text: str) -> None:  # type: ignore[no-untyped-def]
    assert fast.extract(text).wants_human >= 0.8


def test_ordinary_messages_do_not_ask_for_a_person(fast) -> None:  # type: ignore[no-untyped-def]
    for text in ("where is my order?", "thanks, that worked", "my bill is wrong"):
        assert fast.extract(text).wants_human < 0.5


@pytest.mark.parametrize(
    ("text", "risk"),
    [
        ("I'm talking to my lawyer about this", "legal_threat"),
        ("I will go to the press with this", "media_threat"),
        ("I'm reporting you to the ombudsman", "regulator_threat"),
        ("URGENT account hacked, money stolen", "account_takeover"),
        ("There are unauthorised payments on my card", "fraud"),
        ("Voy a hablar con mi abogado", "legal_threat"),
        ("Mein Konto wurde gehackt", "account_takeover"),
        ("Je vais porter plainte", "legal_threat"),
        ("Mi hanno hackerato l'account", "account_takeover"),
        ("Roubaram dinheiro da minha conta", "fraud"),
    ],
)
def test_risks_are_flagged(fast, text: str, risk: str) -> None:  # type: ignore[no-untyped-def]
    assert fast.extract(text).risks.get(risk, 0.0) >= 0.6


@pytest.mark.parametrize(
    "text",
    [
        "This is absolutely ridiculous!!! useless company, I want my money back NOW",
        "third time I'm calling, I'm furious",
        "😡😡😡👎",
        "¡Esto es una vergüenza! Llevo tres semanas esperando",
        "Das ist eine Frechheit, ich warte seit Wochen!",
        "C'est honteux, toujours pas de réponse !",
        "Una vergogna, servizio pessimo!",
        "Que absurdo, uma vergonha!",
    ],
)
def test_angry_messages_read_as_angry(fast, text: str) -> None:  # type: ignore[no-untyped-def]
    signals = fast.extract(text)
    assert signals.anger > 0.6
    assert signals.valence <= -0.5


def test_calm_messages_are_not_angry(fast) -> None:  # type: ignore[no-untyped-def]
    for text in ("Hi, could you tell me when my order will arrive?", "Thank you for your help today"):
        assert fast.extract(text).anger < 0.4


@pytest.mark.parametrize(
    "text", ["", "   ", "👍", "😡😡😡", "12345", "ok", "hmm", "x" * 20_000, "日本語のメッセージです"]
)
def test_nothing_to_route_by_gives_low_confidence(fast, text: str) -> None:  # type: ignore[no-untyped-def]
    signals = fast.extract(text)
    assert signals.intent not in CLEAR_SUPPORT_INTENTS or signals.intent_confidence < LOW
    if signals.intent == SupportIntent.OTHER:
        assert signals.intent_confidence < LOW


def test_genuinely_off_topic_is_other_with_confidence(fast) -> None:  # type: ignore[no-untyped-def]
    signals = fast.extract("what's the weather going to be like in Paris tomorrow")
    assert signals.intent == "other"
    assert signals.intent_confidence >= LOW


def test_labelled_turns_hold_references_only_and_no_reserved_conversation() -> None:
    rows = list(csv.DictReader(io.StringIO(LABELS_FILE.read_text(encoding="utf-8"))))
    assert len(rows) > 800
    assert set(rows[0]) == {"source", "conversation_id", "tweet_id", "label", "part"}
    assert all(bucket(r["conversation_id"]) != RESERVED_BUCKET for r in rows)
    assert {r["label"] for r in rows} <= {i.value for i in SupportIntent}


@pytest.mark.skipif(
    not (data_dir() / "tweetsumm" / "tweetsumm_visible.jsonl").is_file(), reason="shared data not present"
)
def test_labelled_turns_are_what_the_labeller_builds() -> None:
    from tactful.signals.support.labeller import build

    rows = list(csv.DictReader(io.StringIO(LABELS_FILE.read_text(encoding="utf-8"))))
    assert build(data_dir()) == rows


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my package hasn't arrived", "en"),
        ("third time I'm calling, I'm furious", "en"),
        ("quiero hablar con una persona", "es"),
        ("Ich möchte einen Mitarbeiter sprechen", "de"),
        ("je veux parler à un conseiller", "fr"),
        ("il mio ordine non è ancora arrivato", "it"),
        ("não consigo entrar na minha conta", "pt"),
    ],
)
def test_short_support_messages_get_their_language(fast, text: str, language: str) -> None:  # type: ignore[no-untyped-def]
    signals = fast.extract(text)
    assert signals.language == language
    assert signals.language_confidence >= 0.6  # the default policy's detect_min_confidence


def test_one_word_is_never_a_sure_language(fast) -> None:  # type: ignore[no-untyped-def]
    for text in ("representative", "Hola", "ok", "x" * 300):
        assert fast.extract(text).language_confidence < 0.6


@pytest.mark.skipif(
    not (data_dir() / "umsab-multilingual-sentiment" / "train.csv").is_file(),
    reason="shared data not present",
)
def test_the_character_language_model_is_what_the_data_builds() -> None:
    import numpy as np

    from tactful.signals import language_chars

    shipped = language_chars.load()
    assert shipped is not None
    rebuilt = language_chars.build(language_chars.training_texts(data_dir()))
    assert rebuilt.terms == shipped.terms
    np.testing.assert_allclose(rebuilt.log_p, shipped.log_p, rtol=0, atol=1e-3)
