"""A decision's consent side: the consent an SMS asks for (a keyword, or a plain-language opt-out
the intent model reads) and its change stored and audited — once per inbound event, however many
times (or how concurrently) the event arrives; it binds every later decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tactful.domain import Channel, InboundMessage, Signals
from tactful.guard.consent import (
    ConsentChange,
    apply_consent,
    consent_from_intent,
    consent_keyword,
    keyword_language,
)

if TYPE_CHECKING:
    from tactful.store.base import Store


def consent_asked(store: Store, message: InboundMessage, text: str) -> ConsentChange | None:
    """The consent keyword of an SMS (its guarded ``text``); YES counts only from a customer opted
    out of SMS now, which is read only then."""
    return consent_keyword(message.channel, text, lambda: _sms_closed(store, message))


def consent_read(
    consent: ConsentChange | None, channel: Channel, text: str, signals: Signals
) -> tuple[ConsentChange | None, Signals]:
    """After the signals: a plain-language opt-out the keyword rules miss, read by the model; and
    a keyword's language ("BAJA" is too short to detect a language from; the keyword names it)."""
    if consent is None:
        consent = consent_from_intent(channel, text, signals.intent, signals.intent_confidence)
    if consent is not None and (said_in := keyword_language(text)) is not None:
        signals = signals.model_copy(update={"language": said_in, "language_confidence": 1.0})
    return consent, signals


def change_consent(store: Store, message: InboundMessage, change: ConsentChange) -> None:
    """Store an SMS keyword's consent change and audit it (HELP changes nothing)."""
    if change is ConsentChange.SMS_HELP:
        return  # answered, nothing changes
    store.consent.change(
        message.tenant_id,
        message.customer_id,
        lambda preferences: apply_consent(preferences, change),
        source=f"sms_keyword:{change.value}",
        actor="customer:sms",
        change_id=f"{message.event_id}.consent",
    )


def _sms_closed(store: Store, message: InboundMessage) -> bool:
    current = store.get_customer(message.tenant_id, message.customer_id)
    return current is not None and Channel.SMS in current.preferences.opted_out
