"""The run-time tone scorer: table-driven cases per attribute and language, agreement with the
hand labels written for this project (bench/data/tone_labels.yaml), and the marker expander."""

from __future__ import annotations

from pathlib import Path

import pytest

from tactful.domain import TONE_ATTRIBUTES, Channel
from tactful.render import ToneScorer, tone_of_text
from tactful.render.markers import expand
from tactful.render.tone_check import check_scorer, load_labels, spearman

LABELS = Path(__file__).resolve().parents[2] / "bench" / "data" / "tone_labels.yaml"
SCORER = ToneScorer()


@pytest.mark.parametrize(
    ("language", "lower", "higher", "attribute"),
    [
        (
            "en",
            "Hey! No worries, we'll sort it, just DM us!",
            "Dear customer, we will review your enquiry. Kind regards,",
            "formality",
        ),
        (
            "es",
            "¡Hola! Mándanos tu número y te lo miramos.",
            "Estimado cliente: le rogamos que nos indique su número de pedido.",
            "formality",
        ),
        (
            "de",
            "Hey, schick uns kurz deine Nummer!",
            "Sehr geehrte Kundin, bitte teilen Sie uns Ihre Bestellnummer mit.",
            "formality",
        ),
        (
            "fr",
            "Coucou ! Envoie-nous ton numéro.",
            "Madame, Monsieur, veuillez nous transmettre votre numéro de commande.",
            "formality",
        ),
        (
            "it",
            "Ciao! Mandaci il tuo numero.",
            "Gentile Cliente, La preghiamo di inviarci il numero d'ordine.",
            "formality",
        ),
        (
            "pt",
            "Oi! Manda o número pra gente.",
            "Prezado cliente, solicitamos o envio do número do pedido.",
            "formality",
        ),
        (
            "en",
            "Your order shipped.",
            "Thank you so much, we're delighted to help! Have a lovely day!",
            "warmth",
        ),
        (
            "es",
            "Su pedido se ha enviado.",
            "¡Muchas gracias! Encantados de ayudarte. ¡Que tengas un buen día!",
            "warmth",
        ),
        (
            "de",
            "Ihre Bestellung wurde versendet.",
            "Vielen Dank! Wir helfen gern. Einen schönen Tag noch!",
            "warmth",
        ),
        ("en", "Your order shipped.", "I'm so sorry, I understand how frustrating this has been.", "empathy"),
        (
            "fr",
            "Votre commande est partie.",
            "Je suis vraiment désolé, je comprends votre frustration.",
            "empathy",
        ),
        ("it", "Il Suo ordine è partito.", "Mi dispiace molto, capisco la Sua frustrazione.", "empathy"),
        ("pt", "Seu pedido foi enviado.", "Sinto muito, entendo a sua frustração.", "empathy"),
        ("en", "word " * 120, "Done.", "brevity"),
        (
            "en",
            "It was a busy week. Perhaps you might restart the app if you like.",
            "Please restart the app. It was a busy week.",
            "directness",
        ),
        (
            "es",
            "Fue una semana complicada. Quizás, si te parece, podrías reiniciar la app.",
            "Por favor, reinicia la app.",
            "directness",
        ),
    ],
)
def test_the_scorer_orders_obvious_pairs(language: str, lower: str, higher: str, attribute: str) -> None:
    assert SCORER.score(lower, language)[attribute] < SCORER.score(higher, language)[attribute]  # type: ignore[literal-required]


def test_scores_are_in_the_unit_interval_and_cover_every_attribute() -> None:
    for text in ("", "!", "Hi", "😡😡😡", "word " * 500, "<NAME_1>, <EMAIL_2>"):
        for language in ("en", "es", "de", "fr", "it", "pt", "xx"):
            scores = SCORER.score(text, language)
            assert set(scores) == set(TONE_ATTRIBUTES)
            assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_an_emails_greeting_and_signature_are_not_counted_as_length() -> None:
    body = "Thanks for your email. Your refund was issued today."
    email = f"Hello Sam,\n\n{body}\n\nKind regards,\nCustomer Support"
    assert SCORER.score(email, "en", Channel.EMAIL)["brevity"] == SCORER.score(body, "en")["brevity"]


def test_a_language_without_markers_is_scored_with_english_ones() -> None:
    assert tone_of_text("Please restart the app.", "nl") == tone_of_text("Please restart the app.", "en")


def test_the_scorer_agrees_with_the_hand_labels_on_the_written_replies() -> None:
    """The committed labelled replies (the tweetsumm rows need the shared data and are in the bench)."""
    rows = load_labels(LABELS, data_dir=None)
    assert len(rows) == 48 and {r.language for r in rows} == {"en", "es", "de", "fr", "it", "pt"}
    checks = check_scorer(rows, SCORER.score)
    for attribute, check in checks.items():
        assert check.mae <= 0.12, (attribute, check)
        assert check.spearman >= 0.6, (attribute, check)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("apologi[sz]e", [("apologise", False), ("apologize", False)]),
        ("requir(?:e|es|ed)", [("require", False), ("requires", False), ("required", False)]),
        ("frustrat\\w*", [("frustrat", True)]),
        ("tut (?:mir|uns) leid", [("tut mir leid", False), ("tut uns leid", False)]),
        ("quizás?", [("quizás", False), ("quizá", False)]),
        ("te lo \\w+", [("te lo", False)]),
    ],
)
def test_marker_fragments_expand_to_words(pattern: str, expected: list[tuple[str, bool]]) -> None:
    assert expand(pattern) == expected


def test_spearman_matches_hand_computed_values() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.866, abs=1e-3)
