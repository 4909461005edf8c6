"""The channel adapter interface: fit a reply to a channel's constraints, and deliver it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tactful.domain import Channel, Reply, ToneProfile
from tactful.errors import InputRejected, TactfulError


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a transport says after accepting a reply for delivery."""

    channel: Channel
    to: str
    message_id: str
    accepted_at: datetime
    parts: int = 1  # SMS segments billed; 1 elsewhere


class DeliveryNotConfigured(TactfulError):
    """The adapter can shape text for its channel but has no transport to send it with."""

    code = "delivery_not_configured"
    status = 503


class ChannelAdapter(Protocol):
    channel: Channel

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        """Return ``text`` as a Reply that satisfies this channel's constraints (length, format, privacy).

        Raises ``InputRejected`` when nothing sendable is left (blank text)."""
        ...

    def send(self, reply: Reply, *, to: str) -> DeliveryReceipt: ...


class FitOnly:
    """Mixin for adapters that shape text but do not deliver yet: ``send`` says so with a stable code."""

    channel: Channel

    def send(self, reply: Reply, *, to: str) -> DeliveryReceipt:
        raise DeliveryNotConfigured(f"no transport configured for channel {self.channel.value!r}")


def require_text(text: str, channel: Channel) -> None:
    if not text.strip():
        raise InputRejected(f"nothing to send on {channel.value}: the reply text is blank")
