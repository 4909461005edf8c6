"""The compliance report: re-checks stored decisions against their consent facts; counts; HTML escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tactful.domain import Channel, ChannelChoice, ChannelConstraint, Decision
from tactful.governance.report import check_decision, compliance_report
from tactful.governance.report_html import render_html
from tactful.store import SqlStore
from tests.governance.conftest import START, Clock
from tests.store.conftest import DecisionFactory

# 12:00 UTC on START is 21:00 in Tokyo: inside the default 21:00–08:00 quiet hours there.
CONSENT = {"opted_out": [], "do_not_contact": False, "quiet_hours": ["21:00", "08:00"], "time_zone": "UTC"}


def _decision(
    make: DecisionFactory,
    tenant: str,
    primary: Channel | None,
    *fallbacks: Channel,
    removed: tuple[ChannelConstraint, ...] = (),
) -> Decision:
    d = make(tenant, decided_at=START)
    return d.model_copy(
        update={"channel": ChannelChoice(primary=primary, fallbacks=fallbacks, removed=removed)}
    )


def _check(d: Decision, **consent: Any) -> list[tuple[str, str | None]]:
    return [(v.rule, v.channel) for v in check_decision(d.model_dump(mode="json"), {**CONSENT, **consent})]


@pytest.mark.parametrize(
    ("primary", "fallbacks", "consent", "expected"),
    [
        (Channel.CHAT, (Channel.EMAIL,), {}, []),
        (Channel.CHAT, (), {"opted_out": ["chat"]}, [("opt_out", "chat")]),
        (Channel.CHAT, (Channel.SMS,), {"opted_out": ["sms"]}, [("opt_out", "sms")]),
        (Channel.CHAT, (), {"do_not_contact": True}, [("do_not_contact", "chat")]),
        (None, (), {"do_not_contact": True}, []),
        # SMS initiated from a chat at 21:00 Tokyo time: quiet hours.
        (Channel.SMS, (), {"time_zone": "Asia/Tokyo"}, [("quiet_hours", "sms")]),
        (Channel.SMS, (), {"time_zone": "Europe/Paris"}, []),  # 13:00 in Paris
        (Channel.SMS, (), {"time_zone": "Asia/Tokyo", "quiet_hours": None}, []),
        (Channel.EMAIL, (), {"time_zone": "Asia/Tokyo"}, []),  # email does not interrupt
        (
            Channel.SMS,
            (),
            {"time_zone": "Not/AZone"},
            [("quiet_hours", "sms")],
        ),  # unknown zone: assumed quiet
    ],
)
def test_each_decision_is_rechecked_against_its_consent_facts(
    primary: Channel | None,
    fallbacks: tuple[Channel, ...],
    consent: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    d = _decision(DecisionFactory(), "ten_1", primary, *fallbacks)
    assert _check(d, **consent) == expected


def test_a_reply_on_the_inbound_sms_is_not_an_initiation() -> None:
    d = _decision(DecisionFactory(), "ten_1", Channel.SMS).model_copy(update={"inbound_channel": Channel.SMS})
    assert _check(d, time_zone="Asia/Tokyo") == []


def _record(store: SqlStore, decision: Decision, consent: dict[str, Any] | None, pii: list[str]) -> None:
    snapshot: dict[str, Any] = {"pii_kinds": pii}
    if consent is not None:
        snapshot["consent"] = {**CONSENT, **consent}
    store.record_decision(decision, snapshot)


def test_the_report_counts_what_the_audit_log_proves(gstore: SqlStore, clock: Clock) -> None:
    make = DecisionFactory()
    acme = gstore.create_tenant("acme").tenant_id
    blocked = ChannelConstraint(channel=Channel.SMS, rule_id="guardrail.consent.opt_out", reason="opted out")
    clock.now = START - timedelta(days=10)
    _record(gstore, _decision(make, acme, Channel.CHAT), {}, ["email"])  # before the period
    clock.now = START
    _record(
        gstore,
        _decision(make, acme, Channel.CHAT, removed=(blocked,)),
        {"opted_out": ["sms"]},
        ["email", "phone"],
    )
    _record(
        gstore, _decision(make, acme, Channel.CHAT, Channel.SMS), {"opted_out": ["sms"]}, []
    )  # a violation
    _record(gstore, _decision(make, acme, Channel.CHAT), None, ["card"])  # no consent facts recorded
    gstore.audit.append(acme, "customer.erased", {"customer_id": "c1", "by": "alice"})
    gstore.audit.append(acme, "customer.exported", {"customer_id": "c2", "by": "alice"})
    gstore.audit.append(acme, "customer.erased", {"customer_id": "c3", "by": "alice"})
    gstore.governance.set_retention(acme, "decisions", 30, by="<b>bob</b>")

    report = compliance_report(gstore.audit, acme, START - timedelta(days=1), now=START)
    assert report.decisions == 3 and report.decisions_unverifiable == 1
    assert report.opt_outs.decisions_with_opt_outs == 2
    assert report.opt_outs.opted_out_channel_blocked == 1
    assert report.opt_outs.contacts_on_opted_out_channels == 1
    assert [(v.rule, v.channel) for v in report.violations] == [("opt_out", "sms")]
    assert report.pii_detections == {"card": 1, "email": 1, "phone": 1}
    assert report.erasures == 2
    assert report.customer_events == {"customer.erased": 2, "customer.exported": 1}
    assert [(c.kind, c.by, c.details) for c in report.changes] == [
        ("retention.set", "<b>bob</b>", {"kind": "decisions", "days": 30})
    ]
    assert report.audit_chain_ok

    html = render_html(report)
    assert "&lt;b&gt;bob&lt;/b&gt;" in html and "<b>bob</b>" not in html
    assert "opt_out" in html and "customer.erased" in html


def test_a_clean_period_has_no_violations(gstore: SqlStore, clock: Clock) -> None:
    acme = gstore.create_tenant("acme").tenant_id
    _record(gstore, _decision(DecisionFactory(), acme, Channel.CHAT), {"opted_out": ["voice"]}, [])
    report = compliance_report(gstore.audit, acme, datetime(2000, 1, 1, tzinfo=UTC), now=START)
    assert report.violations == [] and report.opt_outs.contacts_on_opted_out_channels == 0
    assert "None: every decision re-checked" in render_html(report)
