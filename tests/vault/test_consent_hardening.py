"""Issue 11 items 5, 7 and 8: consent changes happen once per event under concurrency, are never
lost by a partial replace, are audited from every path and listed in the compliance report; SMS
YES and HELP behave as carriers expect."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.domain import ActionType, Channel, TenantId
from tactful.engine import Engine, EngineParts
from tactful.governance.report import compliance_report
from tactful.store import SqlStore, open_store
from tactful.store.base import AuditEntry
from tactful.tenants import NewTenant, create_tenant
from tests.api.conftest import Client
from tests.conftest import FixedClock, MessageFactory, postgres_schema, put_customer


def _entries(store: SqlStore, tenant_id: str, kind: str) -> list[AuditEntry]:
    tid = TenantId(tenant_id)
    found = [e for shard in store.audit.shards(tid) for e in store.audit.entries(tid, shard=shard)]
    return [e for e in found if e.kind == kind]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'consent.db'}")
        yield store
        store.close()
        return
    with postgres_schema() as url:
        store = open_store(url)
        yield store
        store.close()


def test_each_stop_event_sent_eight_times_at_once_changes_consent_once(
    any_store: SqlStore, clock: FixedClock
) -> None:
    """The issue's probe: 20 SMS STOP events, each sent 8 times concurrently, through the app."""
    engine = Engine(EngineParts(any_store, clock=clock))
    tenant = create_tenant(any_store, "acme")
    app = create_app(engine, Settings())
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    events = [
        {
            "event_id": f"evt-stop-{i}",
            "customer_id": f"cust-{i}",
            "conversation_id": f"conv-{i}",
            "channel": "sms",
            "text": "STOP",
        }
        for i in range(20)
    ]

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            # One request first, so the key's (slow, rate-limited) first check is behind us:
            # false 429s of a cold process are item 6, not what this test is about.
            assert (await http.get("/v1/customers/warm-up/preferences", headers=auth)).status_code == 404
            sends = [http.post("/v1/messages", json=e, headers=auth) for e in events for _ in range(8)]
            return list(await asyncio.gather(*sends))

    responses = asyncio.run(send_all())
    assert sorted({r.status_code for r in responses}) == [200], [
        r.text for r in responses if r.status_code != 200
    ]
    by_event: dict[str, set[str]] = {}
    for r in responses:
        by_event.setdefault(r.json()["event_id"], set()).add(r.json()["decision_id"])
    assert all(len(ids) == 1 for ids in by_event.values()) and len(by_event) == 20

    changed = _entries(any_store, tenant.tenant.tenant_id, "consent.changed")
    assert len(changed) == 20
    assert sorted(e.payload["customer_id"] for e in changed) == sorted(f"cust-{i}" for i in range(20))
    assert len(any_store.consent.changes(TenantId(tenant.tenant.tenant_id))) == 20
    for i in range(20):
        customer = any_store.get_customer(TenantId(tenant.tenant.tenant_id), f"cust-{i}")  # type: ignore[arg-type]
        assert customer is not None and Channel.SMS in customer.preferences.opted_out
    assert all(r.ok for r in any_store.audit.verify())
    engine.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings()))
    yield c
    c.close()


def _auth(t: NewTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {t.api_key}"}


def test_a_partial_put_cannot_drop_opt_outs_and_patch_merges(
    client: Client, store: SqlStore, tenant: NewTenant, clock: FixedClock
) -> None:
    auth = _auth(tenant)
    url = "/v1/customers/cust-1/preferences"
    first = client.put(url, json={"opted_out": ["sms", "voice"], "do_not_contact": True}, headers=auth)
    assert first.status_code == 200, first.text

    # The probe: a partial PUT reset do_not_contact and emptied the opt-outs, silently.
    partial = client.put(url, json={"personalisation": "low"}, headers=auth)
    assert partial.status_code == 409 and partial.json()["code"] == "consent_would_be_dropped"
    assert "application/problem+json" in partial.headers["content-type"]
    kept = client.get(url, headers=auth).json()
    assert sorted(kept["opted_out"]) == ["sms", "voice"] and kept["do_not_contact"] is True

    patched = client.request("PATCH", url, json={"personalisation": "low"}, headers=auth)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["personalisation"] == "low" and sorted(body["opted_out"]) == ["sms", "voice"]
    assert body["do_not_contact"] is True
    bad = client.request("PATCH", url, json={"do_not_contact": None}, headers=auth)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_preferences"
    unknown = client.request("PATCH", url, json={"nonsense": 1}, headers=auth)
    assert unknown.status_code == 422

    # Clearing an opt-out on purpose is allowed: the field is named.
    cleared = client.put(url, json={"opted_out": [], "do_not_contact": False}, headers=auth)
    assert cleared.status_code == 200 and cleared.json()["opted_out"] == []

    changes = _entries(store, tenant.tenant.tenant_id, "consent.changed")
    assert [c.payload["source"] for c in changes] == [
        "api_put_preferences",
        "api_patch_preferences",
        "api_put_preferences",
    ]
    assert all(c.payload["by"].startswith("key:") for c in changes)
    assert changes[0].payload["before"]["opted_out"] == [] and changes[0].payload["after"]["do_not_contact"]
    assert (
        changes[2].payload["before"]["opted_out"] == ["sms", "voice"]
        and changes[2].payload["after"]["opted_out"] == []
    )

    # A customer PUT with preferences goes the same way (audited, and no silent drop).
    again = client.put(url, json={"opted_out": ["email"]}, headers=auth)
    assert again.status_code == 200
    dropped = client.put("/v1/customers/cust-1", json={"profile": {}, "preferences": {}}, headers=auth)
    assert dropped.status_code == 409 and dropped.json()["code"] == "consent_would_be_dropped"
    ok = client.put(
        "/v1/customers/cust-1", json={"profile": {}, "preferences": {"opted_out": ["sms"]}}, headers=auth
    )
    assert ok.status_code == 200 and ok.json()["preferences"]["opted_out"] == ["sms"]
    sources = [c.payload["source"] for c in _entries(store, tenant.tenant.tenant_id, "consent.changed")]
    assert sources[-2:] == ["api_put_preferences", "api_put_customer"]

    report = compliance_report(
        store.audit, TenantId(tenant.tenant.tenant_id), clock.now - timedelta(days=1), now=clock.now
    )
    assert [c.source for c in report.consent_changes] == sources
    assert report.consent_changes[-1].after["opted_out"] == ["sms"]
    assert report.consent_changes[-1].before["opted_out"] == ["email"]


def test_a_plain_language_opt_out_is_honoured_and_confirmed(
    engine: Engine, message: MessageFactory, store: SqlStore, tenant: NewTenant
) -> None:
    for text in ("Please stop texting me", "Unsubscribe me", "STOP ALL"):
        customer = f"c-{len(text)}"
        ack = engine.decide(message(text, channel=Channel.SMS, customer=customer))
        assert ack.reply.template_id == "reply.consent_opt_out", text
        assert "follow" not in ack.reply.text.lower()  # no reply promising follow-up
        stored = store.get_customer(TenantId(tenant.tenant.tenant_id), customer)  # type: ignore[arg-type]
        assert stored is not None and Channel.SMS in stored.preferences.opted_out


def test_yes_opts_back_in_only_someone_opted_out(
    engine: Engine, message: MessageFactory, store: SqlStore, tenant: NewTenant
) -> None:
    plain = engine.decide(message("yes", channel=Channel.SMS))
    assert "consent_keyword" not in plain.explanation.rules_fired  # an answer, not a request
    engine.decide(message("STOP", channel=Channel.SMS))
    back = engine.decide(message("Yes", channel=Channel.SMS))
    assert back.reply.template_id == "reply.consent_opt_in"
    stored = store.get_customer(TenantId(tenant.tenant.tenant_id), "cust-1")  # type: ignore[arg-type]
    assert stored is not None and Channel.SMS not in stored.preferences.opted_out


def test_help_is_answered_in_the_customers_language_and_changes_nothing(
    engine: Engine, message: MessageFactory, store: SqlStore, tenant: NewTenant
) -> None:
    tid = tenant.tenant.tenant_id
    put_customer(store, tid, "es-1", profile={"language": "es"}, preferences={"opted_out": ["sms"]})
    helped = engine.decide(message("HELP", channel=Channel.SMS, customer="es-1"))
    assert helped.action.type is ActionType.REPLY and helped.channel.primary is Channel.SMS
    assert helped.reply.template_id == "reply.consent_help"
    assert "STOP" in helped.reply.text and "baja" in helped.reply.text  # Spanish, says how to opt out
    english = engine.decide(message("help", channel=Channel.SMS, customer="en-1"))
    assert english.reply.template_id == "reply.consent_help" and "Reply STOP" in english.reply.text
    stored = store.get_customer(TenantId(tid), "es-1")  # type: ignore[arg-type]
    assert stored is not None and stored.preferences.opted_out == {Channel.SMS}  # HELP changes nothing
    assert _entries(store, tid, "consent.changed") == []
