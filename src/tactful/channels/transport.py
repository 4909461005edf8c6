"""The transport interface: how a channel's provider talks to us (inbound) and we to it (outbound).

A ``Transport`` is built per tenant from that tenant's credentials (``channels.directory``) and has
two methods: ``parse`` turns a signed provider webhook into inbound events (or refuses it), and
``send`` hands one reply to the provider. Fitting text to a channel stays with the fitting adapters
(``channels.base.ChannelAdapter``); the delivery worker (``channels.delivery``) owns retries,
backoff, circuit breaking and fallbacks, so a transport only translates.

Errors a transport raises (translated from its library at this boundary):

TactfulError
├── AuthError / SignatureInvalid   a webhook's signature is missing or wrong (401; nothing stored)
├── InputRejected                  a webhook or mail we cannot read (4xx, with a code)
├── ProviderUnavailable            the provider is down or timed out: retry later (the row waits)
└── ProviderRejected               the provider refused this message for good (bad number ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from tactful.channels.base import DeliveryReceipt
from tactful.domain import Channel, Reply
from tactful.errors import AuthError, TactfulError


class SignatureInvalid(AuthError):
    code = "invalid_signature"


class ProviderUnavailable(TactfulError):
    """Retryable: the provider did not take the message (5xx, 429, refused connection, timeout)."""

    code = "provider_unavailable"
    status = 503


class ProviderRejected(TactfulError):
    """Permanent: the provider refused this message; retrying the same message will not help."""

    code = "provider_rejected"
    status = 502


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's HTTP call as received: the URL it signed, its headers (lower-case) and body."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    form: Mapping[str, str] = field(default_factory=dict)  # parsed form fields, when form-encoded


class InboundKind(StrEnum):
    MESSAGE = "message"  # a customer said something
    STATUS = "status"  # a provider reports on a message we sent


@dataclass(frozen=True)
class InboundEvent:
    kind: InboundKind
    channel: Channel
    #: The provider's id for this event (Twilio MessageSid/CallSid, Slack event_id, Message-ID):
    #: a replayed webhook carries the same id, so it maps to the same decision.
    provider_event_id: str
    sender: str = ""  # where a reply goes (phone number, e-mail address, Slack channel)
    conversation: str = ""  # the provider's thread key
    text: str = ""
    status: str | None = None  # STATUS: delivered | failed | read
    provider_message_id: str | None = None  # STATUS: the message the status is about
    thread: tuple[str, ...] = ()  # e-mail: Message-IDs of the thread, oldest first


@dataclass(frozen=True)
class Outbound:
    """One reply to hand to a provider, with the customer's own values already re-inserted."""

    tenant_id: str
    decision_id: str
    channel: Channel
    to: str
    reply: Reply
    thread: tuple[str, ...] = ()  # e-mail: the Message-IDs this reply answers (In-Reply-To, References)
    explanation: str = ""  # why the decision was made (a hand-off posts it to the agents' channel)
    handoff: bool = False  # the decision hands the customer to a person


class Transport(Protocol):
    provider: str  # "twilio", "smtp", "slack", "webchat", "recording"
    channels: frozenset[Channel]  # the channels it can send on

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """Verify the request came from the provider and read its events; raises ``SignatureInvalid``
        (nothing is read from an unverified request) or ``InputRejected``."""
        ...

    def send(self, message: Outbound) -> DeliveryReceipt:
        """Hand ``message`` to the provider; raises ``ProviderUnavailable`` or ``ProviderRejected``."""
        ...
