"""SMS consent keywords: STOP and synonyms opt out of SMS, START back in; audited; binding at once."""

from __future__ import annotations

import pytest

from tactful.domain import ActionType, Channel, Preferences, TenantId
from tactful.engine import Engine
from tactful.guard.consent import ConsentChange, apply_consent, consent_keyword
from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.conftest import MessageFactory


@pytest.mark.parametrize(
    ("channel", "text", "expected"),
    [
        (Channel.SMS, "STOP", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "  stop \n", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Unsubscribe", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "cancel", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "END", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "quit", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Start", ConsentChange.SMS_OPT_IN),
        # Issue 11 item 8: any case and punctuation, every carrier keyword, plain-language requests.
        (Channel.SMS, "STOP.", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "stop!", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "STOP!", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "STOP ALL", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "stopall", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Stop-all!", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "REVOKE", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "optout", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Opt-Out.", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Unsubscribe me", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Please stop texting me", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "please stop texting me", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "Don't text me again", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "remove me from your list", ConsentChange.SMS_OPT_OUT),
        (Channel.SMS, "UNSTOP", ConsentChange.SMS_OPT_IN),
        (Channel.SMS, "help", ConsentChange.SMS_HELP),
        (Channel.SMS, "HELP?", ConsentChange.SMS_HELP),
        (Channel.SMS, "Ayuda", ConsentChange.SMS_HELP),
        (Channel.SMS, "yes", None),  # from someone not opted out, "yes" is an answer
        # Mentions of stopping that are not opt-out requests stay ordinary messages.
        (Channel.SMS, "cancel my order", None),
        (Channel.SMS, "please stop the refund", None),
        (Channel.SMS, "Where is my order? Stop sending me emails about it", None),
        (Channel.SMS, "I could not stop laughing at your ad, but my parcel is late", None),
        (Channel.CHAT, "STOP", None),  # only SMS consent is changed by SMS keywords
        (Channel.EMAIL, "unsubscribe", None),
    ],
)
def test_keywords(channel: Channel, text: str, expected: ConsentChange | None) -> None:
    assert consent_keyword(channel, text) is expected


def test_apply_consent_moves_sms_between_opted_out_and_opted_in() -> None:
    prefs = Preferences(opted_out=frozenset({Channel.VOICE}), opted_in=frozenset({Channel.SMS}))
    out = apply_consent(prefs, ConsentChange.SMS_OPT_OUT)
    assert out.opted_out == {Channel.VOICE, Channel.SMS} and out.opted_in == frozenset()
    back = apply_consent(out, ConsentChange.SMS_OPT_IN)
    assert back.opted_out == {Channel.VOICE} and back.opted_in == {Channel.SMS}


def _prefs(store: Store, tenant: NewTenant) -> Preferences:
    customer = store.get_customer(TenantId(tenant.tenant.tenant_id), "cust-1")  # type: ignore[arg-type]
    assert customer is not None
    return customer.preferences


def test_stop_is_confirmed_stored_audited_and_binds_the_next_decision(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    before = engine.decide(message("where is my parcel?", channel=Channel.SMS))
    assert before.channel.primary is Channel.SMS  # SMS is allowed to begin with

    ack = engine.decide(message("STOP", channel=Channel.SMS))
    assert ack.action.type is ActionType.REPLY and ack.channel.primary is Channel.SMS
    assert ack.reply.template_id == "reply.consent_opt_out" and "START" in ack.reply.text
    assert "consent_keyword" in ack.explanation.rules_fired
    assert Channel.SMS in _prefs(store, tenant).opted_out
    entries = store.audit.entries(TenantId(tenant.tenant.tenant_id))
    changed = [e for e in entries if e.kind == "consent.changed"]
    assert [e.payload["source"] for e in changed] == ["sms_keyword:sms_opt_out"]
    assert changed[0].payload["by"] == "customer:sms" and changed[0].payload["customer_id"] == "cust-1"
    assert "sms" not in changed[0].payload["before"]["opted_out"]
    assert "sms" in changed[0].payload["after"]["opted_out"]
    assert entries[-1].payload["snapshot"]["consent_keyword"] == "sms_opt_out"

    after = engine.decide(message("where is my parcel?", channel=Channel.SMS))
    assert after.channel.primary is not Channel.SMS  # the very next decision honours it

    again = engine.decide(message("stop", channel=Channel.SMS))
    assert again.action.type is ActionType.NO_CONTACT  # a repeated STOP gets no further SMS

    start = engine.decide(message("START", channel=Channel.SMS))
    assert start.channel.primary is Channel.SMS and start.reply.template_id == "reply.consent_opt_in"
    assert Channel.SMS not in _prefs(store, tenant).opted_out
    resumed = engine.decide(message("where is my parcel?", channel=Channel.SMS))
    assert resumed.channel.primary is Channel.SMS


def test_stop_in_a_chat_changes_nothing(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    d = engine.decide(message("STOP", channel=Channel.CHAT))
    assert "consent_keyword" not in d.explanation.rules_fired
    assert store.get_customer(TenantId(tenant.tenant.tenant_id), "cust-1") is None  # type: ignore[arg-type]
