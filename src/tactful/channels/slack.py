"""Slack: the Events API in (signing-secret verification with ``slack_sdk``'s SignatureVerifier, which
also refuses requests older than five minutes), replies out with ``slack_sdk``'s WebClient, and a
hand-off posted to the agents' channel with the decision's explanation.

A Slack conversation is a chat: customer messages become ``chat`` turns, the reply goes to the same
Slack channel (in the thread the message started).
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Mapping
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier

from tactful.channels.base import DeliveryReceipt
from tactful.channels.transport import (
    InboundEvent,
    InboundKind,
    Outbound,
    ProviderRejected,
    ProviderUnavailable,
    SignatureInvalid,
    WebhookRequest,
)
from tactful.domain import Channel
from tactful.errors import InputRejected

CHALLENGE = "url_verification"


class SlackTransport:
    provider = "slack"
    channels = frozenset({Channel.CHAT})

    def __init__(self, fields: Mapping[str, str], *, timeout_s: int = 10) -> None:
        self._verifier = SignatureVerifier(fields["signing_secret"])
        base_url = fields.get("base_url") or WebClient.BASE_URL
        self._client = WebClient(
            token=fields["bot_token"], base_url=base_url.rstrip("/") + "/", timeout=timeout_s
        )
        self._agents = fields.get("agents_channel")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        if not self._verifier.is_valid_request(request.body, dict(request.headers)):
            raise SignatureInvalid("the X-Slack-Signature is missing, wrong or too old")
        try:
            payload = json.loads(request.body)
        except ValueError as exc:
            raise InputRejected("a Slack event must be JSON", code="malformed_webhook") from exc
        if payload.get("type") == CHALLENGE:
            return [
                InboundEvent(
                    kind=InboundKind.STATUS, channel=Channel.CHAT, provider_event_id=CHALLENGE,
                    text=str(payload.get("challenge", "")),
                )
            ]  # fmt: skip
        event = payload.get("event") or {}
        # Only people's plain messages: our own bot's posts, edits and joins are not turns.
        if event.get("type") != "message" or event.get("bot_id") or event.get("subtype"):
            return []
        event_id, channel, text = payload.get("event_id"), event.get("channel"), event.get("text")
        if not event_id or not channel or not isinstance(text, str):
            raise InputRejected(
                "a Slack message event needs event_id, channel and text", code="malformed_webhook"
            )
        thread = str(event.get("thread_ts") or event.get("ts") or "")
        return [
            InboundEvent(
                kind=InboundKind.MESSAGE,
                channel=Channel.CHAT,
                provider_event_id=str(event_id),
                sender=f"{channel}:{thread}" if thread else str(channel),
                conversation=f"{channel}:{thread}",
                text=text,
            )
        ]

    def send(self, message: Outbound) -> DeliveryReceipt:
        channel, _, thread = message.to.partition(":")
        try:
            posted = self._client.chat_postMessage(
                channel=channel, text=message.reply.text, thread_ts=thread or None
            )
            if message.handoff and self._agents:
                self._client.chat_postMessage(
                    channel=self._agents,
                    text=(
                        f"Hand-off for decision {message.decision_id} in <#{channel}>: {message.explanation}"
                    ),
                )
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                raise ProviderUnavailable(f"slack answered {status}") from exc
            raise ProviderRejected(f"slack refused the message ({exc.response.get('error')})") from exc
        except (SlackClientError, urllib.error.URLError, OSError) as exc:
            raise ProviderUnavailable(f"slack unreachable ({type(exc).__name__})") from exc
        return DeliveryReceipt(
            channel=Channel.CHAT,
            to=message.to,
            message_id=str(posted.get("ts", "")),
            accepted_at=datetime.now(UTC),
        )
