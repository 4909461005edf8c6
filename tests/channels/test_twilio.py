"""Twilio SMS and voice end to end: webhooks signed with twilio's own RequestValidator, into the
app, and replies out through the real twilio client to a local server implementing its REST API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tactful.store.schema import channel_credentials, decisions, outcomes
from tests.channels.conftest import Live
from tests.channels.local_twilio import AUTH_TOKEN

SMS = "/v1/channels/twilio/sms"
VOICE = "/v1/channels/twilio/voice"
PHONE = "+447700900123"


def _sms(
    sid: str = "SM" + "1" * 32, body: str = "Hi, where is my order? It is two weeks late."
) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "From": PHONE,
        "To": "+15005550006",
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
    }


def _count(live: Live, table: Any) -> int:
    with live.store._db.read() as conn:
        return len(conn.execute(select(table)).all())


def test_a_signed_sms_is_decided_and_answered_through_the_rest_api(live: Live) -> None:
    r: Any = live.post_signed(SMS, _sms())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml") and "<Response>" in r.text
    assert len(live.twilio.messages) == 1
    sent = live.twilio.messages[0]
    assert sent["To"] == PHONE and sent["From"] == "+15005550006" and sent["Body"].strip()
    with live.store._db.read() as conn:
        (row,) = conn.execute(select(decisions.c.decision_id)).all()
    delivery = live.client.get(f"/v1/decisions/{row.decision_id}/delivery", headers=live.auth()).json()
    assert delivery["state"] == "sent" and delivery["channel"] == "sms"
    assert delivery["provider_message_id"] == sent["sid"]
    assert PHONE not in str(delivery)  # the API never shows the recipient


def test_a_forged_or_missing_signature_is_401_and_stores_nothing(live: Live) -> None:
    url, _ = live.signed(SMS, _sms())
    forged = live.client.post(url, data=_sms(), headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_signature"
    missing = live.client.post(url, data=_sms())
    assert missing.status_code == 401
    # Signed with another account's token: just as forged.
    other_url, headers = live.signed(SMS, _sms(), token="someone-else")
    assert live.client.post(other_url, data=_sms(), headers=headers).status_code == 401
    # A body changed after signing fails too.
    _, good = live.signed(SMS, _sms())
    assert live.client.post(url, data=_sms(body="refund me now"), headers=good).status_code == 401
    assert _count(live, decisions) == 0 and live.twilio.requests == 0


def test_an_unknown_tenant_answers_like_a_bad_signature(live: Live) -> None:
    url, headers = live.signed(SMS, _sms())
    r = live.client.post(url.replace(live.tenant_id, "ten_nobody"), data=_sms(), headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"


def test_a_replayed_webhook_returns_the_original_decision_and_sends_once(live: Live) -> None:
    for _ in range(3):
        r: Any = live.post_signed(SMS, _sms())
        assert r.status_code == 200
    assert _count(live, decisions) == 1
    assert len(live.twilio.messages) == 1


def test_status_callbacks_become_outcomes_once(live: Live) -> None:
    live.post_signed(SMS, _sms())
    sid = live.twilio.messages[0]["sid"]
    status = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    for _ in range(2):  # a retried callback is the same outcome
        r: Any = live.post_signed(SMS, status)
        assert r.status_code == 200, r.text
    with live.store._db.read() as conn:
        rows = conn.execute(select(outcomes.c.type)).all()
    assert [row.type for row in rows] == ["delivered"]
    # Intermediate statuses (queued, sent) are steps, not outcomes.
    r = live.post_signed(SMS, {**status, "MessageStatus": "sent"})
    assert r.status_code == 200 and _count(live, outcomes) == 1  # type: ignore[attr-defined]


def test_voice_greets_then_answers_speech_with_ssml_inside_a_barge_in_gather(live: Live) -> None:
    call = {"CallSid": "CA" + "7" * 32, "From": PHONE, "To": "+15005550006", "CallStatus": "ringing"}
    first: Any = live.post_signed(VOICE, call)
    assert first.status_code == 200 and "<Gather" in first.text and 'input="speech"' in first.text
    assert _count(live, decisions) == 0
    turn = {**call, "CallStatus": "in-progress", "SpeechResult": "I was charged twice this month"}
    r: Any = live.post_signed(VOICE, turn)
    assert r.status_code == 200
    assert 'bargeIn="true"' in r.text and "<Say" in r.text and "<s>" in r.text and "<break" in r.text
    assert "<speak>" not in r.text  # Twilio takes SSML tags directly inside <Say>
    assert _count(live, decisions) == 1
    again: Any = live.post_signed(VOICE, turn)  # Twilio retries a slow webhook: same answer
    assert again.text == r.text and _count(live, decisions) == 1


def test_credentials_are_stored_sealed_and_never_returned(live: Live) -> None:
    r = live.client.put(
        "/v1/channels/credentials/twilio",
        json={"fields": {"account_sid": "AC1", "auth_token": "tok-very-secret", "from_number": "+1500"}},
        headers=live.auth(),
    )
    assert r.status_code == 204
    listed = live.client.get("/v1/channels/credentials", headers=live.auth())
    assert listed.status_code == 200 and [p["provider"] for p in listed.json()] == ["twilio"]
    assert "tok-very-secret" not in listed.text and "AC1" not in listed.text
    with live.store._db.read() as conn:
        (sealed,) = conn.execute(select(channel_credentials.c.sealed)).one()
    assert b"tok-very-secret" not in bytes(sealed)
    assert repr(live.service.credentials.get(live.tenant_id, "twilio")).count("tok-very-secret") == 0
    bad = live.client.put(
        "/v1/channels/credentials/twilio", json={"fields": {"auth_token": "x"}}, headers=live.auth()
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_credentials"
    unknown = live.client.put("/v1/channels/credentials/pigeon", json={"fields": {}}, headers=live.auth())
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_provider"
    assert AUTH_TOKEN not in live.client.get("/v1/audit", headers=live.auth()).text
