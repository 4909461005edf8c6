"""The delivery worker: takes decided replies out of the delivery outbox and hands them to providers.

- **Idempotent per decision**: ``enqueue`` inserts one row per decision id (a second enqueue of the
  same decision changes nothing), and a row is sent by whoever holds its lease; once ``sent`` it is
  never sent again. (A crash between the provider accepting a message and the row being marked
  ``sent`` re-sends it after the lease: the one at-least-once window, as with any outbox.)
- **Retries with backoff** on ``ProviderUnavailable`` (``RetryPolicy``); a provider outage never
  loses a message: it waits in the outbox and goes out once the provider answers again.
- **Circuit breaker** per (tenant, provider, channel): while one is open, the decision's next
  fallback channel is used if the customer can be reached there within consent; the delivery row,
  its notes and an audit entry (``delivery.fallback``) say so.
- Replies are stored tokenised; the customer's own values are re-inserted from the vault at send
  time, and recipients are sealed (``Credentials.seal_recipients``).

``DeliveryWorker.run`` is the loop ``tactful worker --role delivery`` runs; the embedded default
runs the same loop on a thread in the API process (``channels.service``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from tactful.channels.breaker import CircuitBreakers, RetryPolicy
from tactful.channels.credentials import Credentials
from tactful.channels.registry import fitter_for
from tactful.channels.transport import Outbound, ProviderRejected, ProviderUnavailable, Transport
from tactful.domain import PUBLIC_CHANNELS, ActionType, Channel, Decision, Reply, TenantId
from tactful.errors import InputRejected
from tactful.guard.reinsert import reveal_for_delivery, tokens_in
from tactful.guard.vault import Vault
from tactful.store.sql import SqlStore
from tactful.store.sql_channels import FAILED, PENDING, SENT, DeliveryRow

log = logging.getLogger(__name__)

#: (provider, address): where a customer can be reached on one channel.
Recipient = tuple[str, str]
Recipients = Mapping[Channel, Recipient]
HANDOFF_ACTIONS = frozenset({ActionType.HANDOFF_HUMAN, ActionType.ESCALATE})
THREAD = "_thread"  # the sealed recipients also keep the e-mail thread's Message-IDs
#: Finds the tenant's transport for a provider (None when the tenant has not configured it).
TransportLookup = Callable[[str, str], Transport | None]


@dataclass(frozen=True)
class DeliveryStatus:
    """A delivery as the API shows it (no recipient address, no reply text)."""

    decision_id: str
    channel: str
    state: str
    attempts: int
    fallback_from: str | None
    notes: tuple[str, ...]
    provider_message_id: str | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryStatus:
        return cls(
            row.decision_id,
            row.channel,
            row.state,
            row.attempts,
            row.fallback_from,
            tuple(json.loads(row.notes)),
            row.provider_message_id,
            row.sent_at,
        )


class DeliveryWorker:
    def __init__(
        self,
        store: SqlStore,
        vault: Vault | None,
        transports: TransportLookup,
        *,
        clock: Callable[[], datetime],
        retry: RetryPolicy | None = None,
        breakers: CircuitBreakers | None = None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.credentials = Credentials(store.credentials, vault)
        self.transports = transports
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.breakers = breakers or CircuitBreakers(clock)
        self._rows = store.deliveries

    # -- enqueue --------------------------------------------------------------------------------

    def enqueue(
        self, decision: Decision, recipients: Recipients, thread: tuple[str, ...] = ()
    ) -> DeliveryStatus | None:
        """Queue the decision's reply for its primary channel (None when it says nothing). A second
        call for the same decision returns the first one's row."""
        channel = decision.reply.channel
        if channel is None or not decision.reply.text.strip():
            return None
        if channel not in recipients:
            raise InputRejected(f"no address to reach the customer on {channel.value}", code="no_recipient")
        sealed = self.credentials.seal_recipients(
            decision.tenant_id,
            decision.decision_id,
            {**{ch.value: json.dumps(list(r)) for ch, r in recipients.items()}, THREAD: json.dumps(thread)},
        )
        now = self.clock()
        row = DeliveryRow(
            tenant_id=decision.tenant_id,
            decision_id=decision.decision_id,
            customer_id=decision.customer_id,
            channel=channel.value,
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            reply=decision.reply.model_dump_json(),
            recipients=sealed,
            fallback_from=None,
            notes="[]",
            provider_message_id=None,
            created_at=now,
            sent_at=None,
        )
        stored, _ = self._rows.add(row)
        return DeliveryStatus.of(stored)

    def status(self, tenant_id: str, decision_id: str) -> DeliveryStatus | None:
        row = self._rows.get(tenant_id, decision_id)
        return None if row is None else DeliveryStatus.of(row)

    # -- the loop -------------------------------------------------------------------------------

    def run_once(self, limit: int = 50) -> int:
        """Send every due row (up to ``limit``); returns how many were handed to a provider."""
        sent = 0
        for row in self._rows.claim_due(limit, self.retry.lease):
            try:
                sent += self._deliver(row)
            except Exception:  # one bad row must not stop the others; it is retried after its lease
                log.exception("delivery of decision %s failed unexpectedly", row.decision_id)
        return sent

    def run(self, stop: threading.Event, idle_s: float = 0.5) -> None:
        while not stop.is_set():
            if self.run_once() == 0:
                stop.wait(idle_s)

    # -- one row ----------------------------------------------------------------------------------

    def _deliver(self, row: DeliveryRow) -> int:
        tenant = TenantId(row.tenant_id)
        decision = self.store.get_decision(tenant, row.decision_id)  # type: ignore[arg-type]
        notes: list[str] = json.loads(row.notes)
        if decision is None:  # pragma: no cover - rows are only written for stored decisions
            self._settle(
                row, FAILED, row.attempts, row.channel, row.fallback_from, [*notes, "decision missing"]
            )
            return 0
        opened = self.credentials.open_recipients(row.tenant_id, row.decision_id, row.recipients)
        thread = tuple(json.loads(opened.pop(THREAD, "[]")))
        recipients: dict[Channel, Recipient] = {}
        for ch, r in opened.items():
            provider_name, address = json.loads(r)
            recipients[Channel(ch)] = (provider_name, address)
        channel = Channel(row.channel)
        fallback_from = row.fallback_from
        blocked = self._blocked(row.tenant_id, channel, recipients)
        if blocked is not None:
            switched = self._fallback(decision, channel, recipients)
            if switched is None:
                notes.append(f"{channel.value}: {blocked}; waiting in the outbox")
                wait = self._breaker_wait(row.tenant_id, channel, recipients, row.attempts)
                self._settle(row, PENDING, row.attempts, channel.value, fallback_from, notes, at=wait)
                return 0
            notes.append(f"{channel.value}: {blocked}; fell back to {switched.value}")
            self.store.audit.append(
                tenant,
                "delivery.fallback",
                {"decision_id": row.decision_id, "from": channel.value, "to": switched.value, "why": blocked},
            )
            fallback_from = fallback_from or channel.value
            channel = switched
        provider, address = recipients[channel]
        transport = self.transports(row.tenant_id, provider)
        assert transport is not None  # _blocked checked it
        key = (row.tenant_id, provider, channel.value)
        message = Outbound(
            tenant_id=row.tenant_id,
            decision_id=row.decision_id,
            channel=channel,
            to=address,
            reply=self._reply_for(decision, Reply.model_validate_json(row.reply), channel),
            explanation="; ".join(decision.explanation.notes),
            thread=thread if channel is Channel.EMAIL else (),
            handoff=decision.action.type in HANDOFF_ACTIONS,
        )
        attempts = row.attempts + 1
        try:
            receipt = transport.send(message)
        except ProviderUnavailable as exc:
            tripped = self.breakers.failure(key)
            notes.append(
                f"{channel.value}: attempt {attempts} failed ({exc.code})"
                + (", breaker opened" if tripped else "")
            )
            at = self._breaker_wait(row.tenant_id, channel, recipients, attempts)
            if tripped and self._fallback(decision, channel, recipients) is not None:
                at = self.clock()  # a fallback can take it now: do not wait for the breaker
            self._settle(row, PENDING, attempts, channel.value, fallback_from, notes, at=at)
            return 0
        except (ProviderRejected, InputRejected) as exc:
            self.breakers.success(key)  # the provider answered: it is up
            notes.append(f"{channel.value}: refused ({exc.code}: {exc.message})")
            self._settle(row, FAILED, attempts, channel.value, fallback_from, notes)
            return 0
        self.breakers.success(key)
        self._settle(
            row, SENT, attempts, channel.value, fallback_from, notes,
            provider_message_id=receipt.message_id, sent_at=self.clock(),
        )  # fmt: skip
        return 1

    def _blocked(self, tenant_id: str, channel: Channel, recipients: Recipients) -> str | None:
        """Why ``channel`` cannot be used now, or None."""
        target = recipients.get(channel)
        if target is None:
            return "no address for the customer"
        if self.transports(tenant_id, target[0]) is None:
            return f"provider {target[0]!r} not configured"
        if self.breakers.open_until((tenant_id, target[0], channel.value)) is not None:
            return f"circuit breaker open for {target[0]}"
        return None

    def _breaker_wait(
        self, tenant_id: str, channel: Channel, recipients: Recipients, attempts: int
    ) -> datetime:
        """The next try: when the breaker lets a trial through, and never sooner than the backoff."""
        backoff = self.clock() + self.retry.delay(max(1, attempts))
        target = recipients.get(channel)
        until = None if target is None else self.breakers.open_until((tenant_id, target[0], channel.value))
        return backoff if until is None else max(until, backoff)

    def _fallback(self, decision: Decision, current: Channel, recipients: Recipients) -> Channel | None:
        """The decision's next fallback after ``current`` the customer can be reached on now: the
        policy already removed channels outside consent and quiet hours; consent is read again
        here because it may have changed (a STOP) since the decision."""
        order = (decision.channel.primary, *decision.channel.fallbacks)
        after = order[order.index(current) + 1 :] if current in order else decision.channel.fallbacks
        customer = self.store.get_customer(decision.tenant_id, decision.customer_id)
        prefs = None if customer is None else customer.preferences
        for candidate in after:
            if candidate is None or candidate in PUBLIC_CHANNELS:
                continue
            if prefs is not None and (prefs.do_not_contact or candidate in prefs.opted_out):
                continue
            if self._blocked(decision.tenant_id, candidate, recipients) is None:
                return candidate
        return None

    def _reply_for(self, decision: Decision, stored: Reply, channel: Channel) -> Reply:
        """The reply as the customer gets it on ``channel``: re-fitted when a fallback moved it, and
        with the customer's own values re-inserted from the vault."""
        reply = stored
        if stored.channel is not channel:
            fitted = fitter_for(channel).fit(stored.text, subject=stored.subject, tone=decision.tone)
            reply = fitted.model_copy(
                update={"template_id": stored.template_id, "template_version": stored.template_version}
            )
        wanted = tokens_in(reply)
        values: dict[str, str] = {}
        if wanted and self.vault is not None:
            values = {
                v.token: v.value for v in self.vault.reveal(decision.tenant_id, decision.customer_id, wanted)
            }
        _, delivered = reveal_for_delivery(reply, values, public=channel in PUBLIC_CHANNELS)
        return delivered

    def _settle(
        self,
        row: DeliveryRow,
        state: str,
        attempts: int,
        channel: str,
        fallback_from: str | None,
        notes: list[str],
        *,
        at: datetime | None = None,
        provider_message_id: str | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        self._rows.settle(
            row.tenant_id,
            row.decision_id,
            state=state,
            attempts=attempts,
            next_attempt_at=at or self.clock(),
            channel=channel,
            fallback_from=fallback_from,
            notes=json.dumps(notes[-20:]),  # bounded: a long outage must not grow the row forever
            provider_message_id=provider_message_id,
            sent_at=sent_at,
        )
