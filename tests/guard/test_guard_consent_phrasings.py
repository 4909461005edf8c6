"""SMS opt-out requests beyond the carrier keywords: other languages, repeated keywords, "these
messages", and the intent model's reading; mentions of stopping stay ordinary messages."""

from __future__ import annotations

import pytest

from tactful.domain import Channel
from tactful.guard.consent import (
    OPT_OUT_INTENT_CONFIDENCE,
    ConsentChange,
    consent_from_intent,
    consent_keyword,
)

OPT_OUTS = [
    "Stop sending me these messages",
    "please stop sending me your texts",
    "stop stop stop",
    "STOP STOP!!",
    "BAJA",
    "Darme de baja por favor",
    "No quiero recibir más mensajes",
    "STOP SVP",
    "Arrêt",
    "Je ne veux plus recevoir de SMS, désabonnez-moi",
    "STOPP",
    "Abmelden",
    "Bitte keine SMS mehr",
    "Non voglio più ricevere messaggi",
    "disiscrivimi",
    "PARAR",
    "Não quero mais receber mensagens",
    "Parem de me enviar SMS",
]

NOT_OPT_OUTS = [
    "please stop the refund",
    "stop the refund stop",  # a keyword repeated around a request is not the keyword alone
    "Stop sending me emails about my order",
    "La baja de precio no se aplicó a mi pedido, quiero el reembolso del importe cobrado de más hoy",
    "Quero parar de pagar a taxa extra",
    "Mein Paket ist nicht angekommen",
    "Il mio ordine non è arrivato",
]


@pytest.mark.parametrize("text", OPT_OUTS)
def test_an_opt_out_request_in_any_template_language_opts_out(text: str) -> None:
    assert consent_keyword(Channel.SMS, text) is ConsentChange.SMS_OPT_OUT


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_a_message_that_mentions_stopping_is_no_opt_out(text: str) -> None:
    assert consent_keyword(Channel.SMS, text) is None


@pytest.mark.parametrize("text", ["BAJA", "stop stop stop", "Bitte keine SMS mehr"])
def test_only_sms_changes_sms_consent(text: str) -> None:
    assert consent_keyword(Channel.CHAT, text) is None


@pytest.mark.parametrize(
    ("channel", "text", "intent", "confidence", "expected"),
    [
        (Channel.SMS, "ya no más por favor", "opt_out", 0.97, ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "ya no más por favor", "opt_out", OPT_OUT_INTENT_CONFIDENCE, ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "ya no más por favor", "opt_out", 0.6, None),  # an unsure reading changes nothing
        (Channel.SMS, "where is my order", "order_status", 0.99, None),
        (Channel.CHAT, "no more of these please", "opt_out", 0.99, None),  # chat says nothing of SMS
        (Channel.SMS, "x" * 200, "opt_out", 0.99, None),  # a story that mentions stopping, not a request
    ],
)
def test_the_intent_model_reading_opt_out_on_a_short_sms_opts_out(
    channel: Channel, text: str, intent: str, confidence: float, expected: ConsentChange | None
) -> None:
    assert consent_from_intent(channel, text, intent, confidence) is expected
