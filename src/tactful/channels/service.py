"""Wiring for live channels: the tenant's transports, inbound webhooks to decisions, and delivery.

``ChannelService`` is built once per process (the API's lifespan, or a ``delivery`` worker) around
the engine. Inbound: a provider's webhook is verified by the tenant's transport, each customer
message becomes a decision (event id = provider + the provider's id, so a replayed webhook returns
the original decision), and the reply is queued for delivery; a status callback becomes an outcome.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tactful.channels.credentials import Credentials
from tactful.channels.delivery import DeliveryWorker, Recipient
from tactful.channels.email_transport import SmtpTransport, parse_mail
from tactful.channels.llm_models import PROVIDER, TenantModels
from tactful.channels.slack import SlackTransport
from tactful.channels.transport import InboundEvent, InboundKind, SignatureInvalid, Transport, WebhookRequest
from tactful.channels.twilio import TwilioTransport
from tactful.config import Settings
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    Decision,
    DecisionId,
    EventId,
    InboundMessage,
    Outcome,
    OutcomeType,
    TenantId,
)
from tactful.engine import Engine
from tactful.errors import InputRejected, NotFound
from tactful.knowledge import KnowledgeBase
from tactful.render import TemplateRenderer
from tactful.render.generate import GeneratingRenderer
from tactful.render.llm import LlmConfig
from tactful.store.sql import SqlStore

log = logging.getLogger(__name__)

#: Builds a provider's transport from a tenant's (decrypted) credential fields.
TransportFactory = Callable[[Mapping[str, str]], Transport]

FACTORIES: dict[str, TransportFactory] = {
    "twilio": TwilioTransport,
    "smtp": SmtpTransport,
    "slack": SlackTransport,
}


@dataclass(frozen=True)
class InboundResult:
    event: InboundEvent
    decision: Decision | None  # None for a status callback
    outcome_recorded: bool = False


class ChannelService:
    def __init__(
        self,
        engine: Engine,
        *,
        factories: Mapping[str, TransportFactory] | None = None,
        local: Mapping[str, Transport] | None = None,
        deliver_inline: bool = True,
        generate: bool = True,
    ) -> None:
        self.engine = engine
        self.store: SqlStore = engine.store  # its credentials and delivery outbox tables
        self.credentials = Credentials(
            self.store.credentials, engine.vault, on_change=self._credentials_changed
        )
        #: The tenants' model settings, cached; a change here or in another process drops the copy.
        self.models = TenantModels(self.credentials.get)
        engine.invalidation.listen("credentials", self.models.forget)
        self._factories = dict(FACTORIES if factories is None else factories)
        #: In-process transports that need no credentials (the recording default, web chat).
        self.local: dict[str, Transport] = dict(local or {})
        self.worker = DeliveryWorker(self.store, engine.vault, self.transport, clock=engine.clock)
        #: Attempt delivery in the request's own thread right after queueing (the embedded default):
        #: a failure leaves the row in the outbox for the worker loop.
        self.deliver_inline = deliver_inline
        self._loop: threading.Thread | None = None
        self._stop = threading.Event()
        self.knowledge = KnowledgeBase(self.store.knowledge)
        if generate and isinstance(engine.renderer, TemplateRenderer):
            # Generated replies for tenants that configured a model ("llm" credentials); the
            # template renderer stays behind them (tactful.render.generate).
            engine.renderer = GeneratingRenderer(engine.renderer, self.model_for, self.knowledge)

    def model_for(self, tenant_id: str) -> LlmConfig | None:
        return self.models.get(tenant_id)

    def _credentials_changed(self, tenant_id: str, provider: str) -> None:
        if provider == PROVIDER:  # the only provider read per decision, so the only one cached
            self.engine.invalidation.announce("credentials", TenantId(tenant_id))

    def transport(self, tenant_id: str, provider: str) -> Transport | None:
        local = self.local.get(provider)
        if local is not None:
            return local
        factory = self._factories.get(provider)
        if factory is None:
            return None
        fields = self.credentials.get(tenant_id, provider)
        return None if fields is None else factory(fields)

    # -- inbound --------------------------------------------------------------------------------

    def inbound(self, tenant_id: str, provider: str, request: WebhookRequest) -> list[InboundResult]:
        """Verify and act on one webhook. An unknown tenant or a provider the tenant has not
        configured answers exactly like a bad signature (401): a caller learns nothing."""
        transport = self._verified_transport(tenant_id, provider)
        events = transport.parse(request)  # raises SignatureInvalid before anything is read or stored
        return [self._handle(TenantId(tenant_id), provider, e) for e in events]

    def inbound_mail(self, tenant_id: str, raw: bytes) -> InboundResult:
        """A customer's mail from the SMTP listener: decided, and answered by SMTP in its thread.
        ``InputRejected`` (unknown tenant, unreadable mail) makes the listener refuse it with 550."""
        if self.store.get_tenant(TenantId(tenant_id)) is None:
            raise InputRejected("no such mailbox", code="unknown_mailbox")
        return self._handle(TenantId(tenant_id), "smtp", parse_mail(raw))

    def _verified_transport(self, tenant_id: str, provider: str) -> Transport:
        if self.store.get_tenant(TenantId(tenant_id)) is None:
            raise SignatureInvalid("the webhook's signature cannot be checked")
        transport = self.transport(tenant_id, provider)
        if transport is None:
            raise SignatureInvalid("the webhook's signature cannot be checked")
        return transport

    def _handle(self, tenant_id: TenantId, provider: str, event: InboundEvent) -> InboundResult:
        if event.kind is InboundKind.STATUS:
            return InboundResult(event, None, self._status(tenant_id, provider, event))
        decision = self.decide(tenant_id, provider, event)
        if event.channel is not Channel.VOICE:  # a voice reply is the webhook's own TwiML answer
            self.queue(decision, {event.channel: (provider, event.sender)}, event.thread)
        return InboundResult(event, decision)

    def customer_for(self, tenant_id: TenantId, channel: Channel, sender: str) -> CustomerId:
        """A stable pseudonymous customer id for an address (never the phone number itself)."""
        vault = self.engine.vault
        if vault is None:
            raise NotFound("live channels need the vault (TACTFUL_MASTER_KEY) to name customers")
        return CustomerId(f"{channel.value}-{vault.subject_ref(tenant_id, f'{channel.value}:{sender}')[:24]}")

    def decide(self, tenant_id: TenantId, provider: str, event: InboundEvent) -> Decision:
        customer = self.customer_for(tenant_id, event.channel, event.sender)
        return self.engine.decide(
            InboundMessage(
                event_id=EventId(f"{provider}:{event.provider_event_id}"[:128]),
                tenant_id=tenant_id,
                customer_id=customer,
                conversation_id=ConversationId(f"{provider}:{event.conversation or customer}"[:128]),
                channel=event.channel,
                text=event.text,
                sent_at=self.engine.clock(),
            )
        )

    def queue(
        self, decision: Decision, recipients: Mapping[Channel, Recipient], thread: tuple[str, ...] = ()
    ) -> None:
        status = self.worker.enqueue(decision, recipients, thread)
        if status is not None and status.state == "pending" and self.deliver_inline:
            self.worker.run_once()

    def _status(self, tenant_id: TenantId, provider: str, event: InboundEvent) -> bool:
        row = self.store.deliveries.by_provider_message(tenant_id, event.provider_message_id or "")
        if row is None or event.status is None:
            return False  # a status for a message we did not send through the outbox
        if event.status == "failed":
            # The outcome types have no "failed": a failed delivery is audited (and never counted
            # as delivered).
            self.store.audit.append(
                tenant_id, "delivery.failed", {"decision_id": row.decision_id, "provider": provider}
            )
            return False
        outcome = Outcome(
            event_id=EventId(f"{provider}:{event.provider_event_id}"[:128]),
            tenant_id=tenant_id,
            decision_id=DecisionId(row.decision_id),
            type=OutcomeType(event.status),
            occurred_at=self.engine.clock(),
        )
        _, created = self.engine.record_outcome(outcome)
        return created

    # -- the embedded worker loop ---------------------------------------------------------------

    def start(self, idle_s: float = 0.5) -> None:
        if self._loop is None:
            self._loop = threading.Thread(
                target=self.worker.run, args=(self._stop, idle_s), name="tactful-delivery", daemon=True
            )
            self._loop.start()

    def close(self) -> None:
        self._stop.set()
        if self._loop is not None:
            self._loop.join(timeout=5)
            self._loop = None


def run_delivery(settings: Settings, stop: threading.Event, idle_s: float = 0.5) -> None:
    """The delivery role (``tactful worker --role delivery``): the outbox loop over the configured
    store until ``stop`` is set. Several may run: rows are leased, so each is sent by one of them."""
    engine = Engine.from_settings(settings)
    try:
        ChannelService(engine, deliver_inline=False, generate=False).worker.run(stop, idle_s)
    finally:
        engine.close()
