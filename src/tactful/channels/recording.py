"""The in-process delivery default: fits like the real channel, and "sends" by keeping the reply.

Used when no transport is configured (demo, tests, local runs) so the whole pipeline can run end to
end. The buffer is bounded so a long-running process cannot grow without limit.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tactful.channels.base import ChannelAdapter, DeliveryReceipt
from tactful.channels.transport import InboundEvent, InboundKind, Outbound, WebhookRequest
from tactful.domain import Channel, Reply, ToneProfile
from tactful.errors import InputRejected


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SentReply:
    reply: Reply
    to: str
    receipt: DeliveryReceipt


class RecordingChannel:
    def __init__(
        self,
        inner: ChannelAdapter,
        *,
        clock: Callable[[], datetime] | None = None,
        capacity: int = 1000,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.channel = inner.channel
        self._inner = inner
        self._clock = clock or _utc_now
        self._sent: deque[SentReply] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # API workers may send concurrently

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        return self._inner.fit(text, subject=subject, tone=tone)

    def send(self, reply: Reply, *, to: str) -> DeliveryReceipt:
        if reply.channel is not self.channel:
            got = reply.channel.value if reply.channel else None
            raise InputRejected(f"a reply for {got!r} cannot be sent on {self.channel.value!r}")
        if not to.strip():
            raise InputRejected("a recipient is required")
        if not reply.text.strip():
            raise InputRejected("an empty reply cannot be sent")
        with self._lock:
            receipt = DeliveryReceipt(
                channel=self.channel,
                to=to,
                message_id=f"rec-{self.channel.value}-{next(self._ids):08d}",
                accepted_at=self._clock(),
                parts=max(1, len(reply.segments)),
            )
            self._sent.append(SentReply(reply=reply, to=to, receipt=receipt))
        return receipt

    @property
    def sent(self) -> list[SentReply]:
        """The replies sent so far, oldest first (at most ``capacity`` of them)."""
        with self._lock:
            return list(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()


class RecordingTransport:
    """The in-process provider (``Transport``): keeps what it is sent, for the embedded default, the
    demo and tests. ``parse`` reads an unsigned JSON body ``{"from", "text", "id"}``: it is only
    reachable in-process, never mounted as a public webhook."""

    provider = "recording"

    def __init__(self, channels: frozenset[Channel] = frozenset(Channel), capacity: int = 1000) -> None:
        self.channels = channels
        self._sent: deque[Outbound] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        try:
            body = json.loads(request.body)
            return [
                InboundEvent(
                    kind=InboundKind.MESSAGE,
                    channel=Channel(body.get("channel", "chat")),
                    provider_event_id=str(body["id"]),
                    sender=str(body["from"]),
                    text=str(body["text"]),
                )
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputRejected(
                "a recording webhook needs JSON with id, from and text", code="malformed_webhook"
            ) from exc

    def send(self, message: Outbound) -> DeliveryReceipt:
        with self._lock:
            self._sent.append(message)
            return DeliveryReceipt(
                channel=message.channel,
                to=message.to,
                message_id=f"rec-{next(self._ids):08d}",
                accepted_at=_utc_now(),
                parts=max(1, len(message.reply.segments)),
            )

    @property
    def sent(self) -> list[Outbound]:
        with self._lock:
            return list(self._sent)
