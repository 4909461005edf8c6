"""A natural-language SMS opt-out, by phrase rule or by the intent model, opts the customer out,
is confirmed, and is audited like the STOP keyword."""

from __future__ import annotations

import pytest

from tactful.domain import Channel, TenantId
from tactful.engine import Engine, EngineParts
from tactful.signals.selection import TierSelector
from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.conftest import FixedClock, MessageFactory
from tests.engine.tier_doubles import StubTier


def _audited_sources(store: Store, tenant: NewTenant) -> list[object]:
    tid = TenantId(tenant.tenant.tenant_id)
    entries = [e for shard in store.audit.shards(tid) for e in store.audit.entries(tid, shard=shard)]
    return [e.payload["source"] for e in entries if e.kind == "consent.changed"]


def _opted_out(store: Store, tenant: NewTenant, customer: str) -> bool:
    stored = store.get_customer(TenantId(tenant.tenant.tenant_id), customer)  # type: ignore[arg-type]
    return stored is not None and Channel.SMS in stored.preferences.opted_out


@pytest.mark.parametrize("text", ["BAJA", "Bitte keine SMS mehr schicken", "stop stop stop", "STOP SVP"])
def test_a_phrase_opt_out_is_stored_confirmed_and_audited(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant, text: str
) -> None:
    ack = engine.decide(message(text, channel=Channel.SMS))
    assert ack.reply.template_id == "reply.consent_opt_out"
    assert _opted_out(store, tenant, "cust-1")
    assert _audited_sources(store, tenant) == ["sms_keyword:sms_opt_out"]


def test_the_intent_model_reading_opt_out_opts_out_an_sms_the_rules_miss(
    store: Store, clock: FixedClock, message: MessageFactory, tenant: NewTenant
) -> None:
    engine = Engine(EngineParts(store, clock=clock, tier=TierSelector([StubTier("fast", intent="opt_out")])))
    try:
        ack = engine.decide(message("ya no más de esto gracias", channel=Channel.SMS))
        chat = engine.decide(message("ya no más de esto gracias", channel=Channel.CHAT, customer="c-2"))
    finally:
        engine.close()
    assert ack.reply.template_id == "reply.consent_opt_out"
    assert _opted_out(store, tenant, "cust-1")
    assert not _opted_out(store, tenant, "c-2") and chat.reply.template_id != "reply.consent_opt_out"
    assert _audited_sources(store, tenant) == ["sms_keyword:sms_opt_out"]


def test_an_ordinary_sms_read_as_another_intent_keeps_consent(
    store: Store, clock: FixedClock, message: MessageFactory, tenant: NewTenant
) -> None:
    engine = Engine(
        EngineParts(store, clock=clock, tier=TierSelector([StubTier("fast", intent="order_status")]))
    )
    try:
        engine.decide(message("where is my parcel", channel=Channel.SMS))
    finally:
        engine.close()
    assert not _opted_out(store, tenant, "cust-1") and _audited_sources(store, tenant) == []


@pytest.mark.parametrize(("text", "language"), [("BAJA", "es"), ("STOP SVP", "fr"), ("STOPP", "de")])
def test_a_one_word_opt_out_is_confirmed_in_its_language(
    engine: Engine, message: MessageFactory, text: str, language: str
) -> None:
    ack = engine.decide(message(text, channel=Channel.SMS))
    assert ack.reply.template_id == "reply.consent_opt_out" and ack.reply.language == language
