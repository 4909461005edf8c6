"""The delivery worker against the local Twilio server: sends once per decision, waits out an outage
in the outbox, opens a breaker and falls back within consent, and records a refusal."""

from __future__ import annotations

import itertools

from tactful.channels.recording import RecordingTransport
from tactful.domain import Channel, ConversationId, CustomerId, Decision, EventId, InboundMessage, TenantId
from tactful.domain.customer import Customer
from tests.channels.conftest import Live

PHONE = "+447700900123"


def _decide(live: Live, text: str = "Where is my order? It is late.", event: str = "evt-1") -> Decision:
    return live.engine.decide(
        InboundMessage(
            event_id=EventId(event),
            tenant_id=TenantId(live.tenant_id),
            customer_id=CustomerId("cust-1"),
            conversation_id=ConversationId("conv-1"),
            channel=Channel.SMS,
            text=text,
            sent_at=live.clock(),
        )
    )


def test_a_decision_is_sent_once_however_often_it_is_queued_or_run(live: Live) -> None:
    decision = _decide(live)
    worker = live.service.worker
    for _ in range(3):
        worker.enqueue(decision, {Channel.SMS: ("twilio", PHONE)})
        worker.run_once()
    assert len(live.twilio.messages) == 1
    status = worker.status(live.tenant_id, decision.decision_id)
    assert status is not None and status.state == "sent" and status.attempts == 1


def test_an_outage_waits_in_the_outbox_with_backoff_and_sends_once_when_back(live: Live) -> None:
    decision = _decide(live)
    worker = live.service.worker
    live.twilio.mode = "down"
    worker.enqueue(decision, {Channel.SMS: ("twilio", PHONE)})
    assert worker.run_once() == 0
    status = worker.status(live.tenant_id, decision.decision_id)
    assert status is not None and status.state == "pending" and status.attempts == 1
    assert worker.run_once() == 0 and live.twilio.requests == 1  # not due yet: backoff
    delays = []
    for _ in range(5):  # the provider stays down: each retry waits longer, the message is kept
        before = live.clock()
        row = live.store.deliveries.get(live.tenant_id, decision.decision_id)
        assert row is not None
        delays.append(row.next_attempt_at - before)
        live.clock.now = row.next_attempt_at
        worker.run_once()
    assert all(b >= a for a, b in itertools.pairwise(delays)) and delays[-1] > delays[0]
    assert live.twilio.messages == []
    live.twilio.mode = "ok"
    row = live.store.deliveries.get(live.tenant_id, decision.decision_id)
    assert row is not None and row.state == "pending"
    live.clock.now = row.next_attempt_at
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert len(live.twilio.messages) == 1
    status = worker.status(live.tenant_id, decision.decision_id)
    assert status is not None and status.state == "sent" and status.fallback_from is None


def test_an_open_breaker_moves_the_reply_to_the_next_fallback_within_consent(live: Live) -> None:
    recording = RecordingTransport()
    live.service.local["recording"] = recording
    worker = live.service.worker
    live.twilio.mode = "down"
    first = _decide(live)
    assert first.channel.fallbacks, first.channel
    everywhere = {ch: ("recording", f"{ch.value}-addr") for ch in Channel} | {Channel.SMS: ("twilio", PHONE)}
    del everywhere[Channel.SOCIAL]
    # The customer opted out of the first fallback since the decision: it must be skipped.
    skipped = first.channel.fallbacks[0]
    live.store.put_customer(
        Customer.model_validate(
            {
                "tenant_id": live.tenant_id,
                "customer_id": "cust-1",
                "preferences": {"opted_out": [skipped.value]},
            }
        )
    )
    worker.enqueue(first, everywhere)
    for _ in range(worker.breakers.threshold):
        row = live.store.deliveries.get(live.tenant_id, first.decision_id)
        assert row is not None
        live.clock.now = max(live.clock.now, row.next_attempt_at)
        worker.run_once()
    assert worker.breakers.open_until((live.tenant_id, "twilio", "sms")) is not None
    row = live.store.deliveries.get(live.tenant_id, first.decision_id)
    assert row is not None
    live.clock.now = row.next_attempt_at
    assert worker.run_once() == 1
    status = worker.status(live.tenant_id, first.decision_id)
    assert status is not None and status.state == "sent" and status.fallback_from == "sms"
    expected = next(ch for ch in first.channel.fallbacks if ch is not skipped and ch is not Channel.SOCIAL)
    assert status.channel == expected.value
    assert any("fell back to" in n for n in status.notes)
    (sent,) = recording.sent
    assert sent.channel is expected and sent.reply.channel is expected and sent.to == f"{expected.value}-addr"
    kinds = [e.kind for e in live.store.audit.entries(TenantId(live.tenant_id))]
    assert "delivery.fallback" in kinds
    assert live.twilio.messages == []


def test_with_no_fallback_left_an_open_breaker_keeps_the_message_waiting(live: Live) -> None:
    worker = live.service.worker
    live.twilio.mode = "down"
    decision = _decide(live)
    worker.enqueue(decision, {Channel.SMS: ("twilio", PHONE)})
    for _ in range(worker.breakers.threshold + 2):
        row = live.store.deliveries.get(live.tenant_id, decision.decision_id)
        assert row is not None
        live.clock.now = max(live.clock.now, row.next_attempt_at)
        worker.run_once()
    status = worker.status(live.tenant_id, decision.decision_id)
    assert status is not None and status.state == "pending"
    assert any("breaker opened" in n for n in status.notes)
    live.twilio.mode = "ok"
    row = live.store.deliveries.get(live.tenant_id, decision.decision_id)
    assert row is not None
    live.clock.now = row.next_attempt_at
    worker.run_once()
    assert len(live.twilio.messages) == 1


def test_a_permanent_refusal_is_recorded_and_not_retried(live: Live) -> None:
    worker = live.service.worker
    live.twilio.mode = "reject"
    decision = _decide(live)
    worker.enqueue(decision, {Channel.SMS: ("twilio", PHONE)})
    worker.run_once()
    live.clock.advance(hours=1)
    worker.run_once()
    assert live.twilio.requests == 1
    status = worker.status(live.tenant_id, decision.decision_id)
    assert status is not None and status.state == "failed"
    assert any("provider_rejected" in n for n in status.notes)


def test_the_delivery_role_sends_what_the_api_queued_and_stops(live: Live, tmp_path: object) -> None:
    import threading

    from tactful.channels.service import run_delivery
    from tactful.config import Settings

    live.twilio.mode = "down"  # the API's inline attempt fails: the row waits for the role
    decision = _decide(live)
    live.service.worker.enqueue(decision, {Channel.SMS: ("twilio", PHONE)})
    live.service.worker.run_once()
    live.twilio.mode = "ok"
    row = live.store.deliveries.get(live.tenant_id, decision.decision_id)
    assert row is not None and row.state == "pending"
    stop = threading.Event()
    url = str(live.store._db.engine.url)
    sent_before = len(live.twilio.messages)

    def watch() -> None:  # stops the role once the message is out (the role's clock is real time)
        while not stop.is_set():
            if len(live.twilio.messages) > sent_before:
                stop.set()
            stop.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    run_delivery(Settings.from_env(database_url=url), stop, idle_s=0.05)
    watcher.join()
    assert len(live.twilio.messages) == sent_before + 1
    row = live.store.deliveries.get(live.tenant_id, decision.decision_id)
    assert row is not None and row.state == "sent"
