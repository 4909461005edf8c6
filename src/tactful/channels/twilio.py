"""Twilio SMS and voice: signed webhooks in, the REST API out, TwiML with SSML for spoken replies.

Inbound webhooks are checked with the ``twilio`` package's own ``RequestValidator`` against the URL
Twilio called and its form fields; nothing is read from a request that fails. Outbound SMS goes
through ``client.messages.create``, outbound calls through ``client.calls.create`` with TwiML.
Library errors are translated here: 5xx, 429 and network failures are ``ProviderUnavailable``
(retried), any other refusal ``ProviderRejected``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from tactful.domain import Channel, Reply
from tactful.errors import InputRejected

#: Twilio's message and call statuses that become outcomes; the others (queued, sent, ringing ...)
#: are steps on the way and are ignored.
STATUS_OUTCOMES = {
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "completed": "delivered",  # a call that was answered and ran to its end
}
_SPEAK = re.compile(r"^<speak>|</speak>$")
MAX_BODY_CHARS = 1600  # Twilio's limit for one message body


class TwilioTransport:
    provider = "twilio"
    channels = frozenset({Channel.SMS, Channel.VOICE})

    def __init__(self, fields: Mapping[str, str], *, timeout_s: float = 10.0) -> None:
        self._validator = RequestValidator(fields["auth_token"])
        self._from = fields["from_number"]
        self._status_callback = fields.get("status_callback")
        # environment={}: the client must not pick up TWILIO_* variables (config.py reads the
        # environment, nothing else does).
        self._client = Client(
            fields["account_sid"],
            fields["auth_token"],
            environment={},
            http_client=TwilioHttpClient(timeout=timeout_s),
        )
        base_url = fields.get("base_url")
        if base_url:  # a regional or local endpoint (the test suite's local Twilio server)
            self._client.api.base_url = base_url.rstrip("/")

    # -- inbound --------------------------------------------------------------------------------

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        signature = request.headers.get("x-twilio-signature", "")
        if not signature or not self._validator.validate(request.url, dict(request.form), signature):
            raise SignatureInvalid("the X-Twilio-Signature header is missing or does not match")
        form = request.form
        if "Body" in form:
            return [_sms(form)]
        if "SpeechResult" in form:
            return [_voice_turn(form)]
        status = form.get("MessageStatus") or form.get("CallStatus")
        if status:
            return _status(form, status)
        raise InputRejected("not a Twilio message, speech or status webhook", code="malformed_webhook")

    # -- outbound -------------------------------------------------------------------------------

    def send(self, message: Outbound) -> DeliveryReceipt:
        try:
            if message.channel is Channel.VOICE:
                call = self._client.calls.create(
                    to=message.to, from_=self._from, twiml=voice_twiml(message.reply, gather_action=None)
                )
                sid, parts = str(call.sid), 1
            elif message.channel is Channel.SMS:
                body = message.reply.text[:MAX_BODY_CHARS]
                extra = {} if not self._status_callback else {"status_callback": self._status_callback}
                sent = self._client.messages.create(to=message.to, from_=self._from, body=body, **extra)
                sid, parts = str(sent.sid), max(1, len(message.reply.segments))
            else:
                raise ProviderRejected(f"twilio cannot send on {message.channel.value}")
        except TwilioRestException as exc:
            if exc.status >= 500 or exc.status == 429:
                raise ProviderUnavailable(f"twilio answered {exc.status}") from exc
            raise ProviderRejected(f"twilio refused the message ({exc.status}, code {exc.code})") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise ProviderUnavailable(f"twilio unreachable ({type(exc).__name__})") from exc
        return DeliveryReceipt(
            channel=message.channel, to=message.to, message_id=sid, accepted_at=datetime.now(UTC), parts=parts
        )


def _sms(form: Mapping[str, str]) -> InboundEvent:
    sid, sender = form.get("MessageSid", ""), form.get("From", "")
    if not sid or not sender:
        raise InputRejected("an SMS webhook needs MessageSid, From and Body", code="malformed_webhook")
    return InboundEvent(
        kind=InboundKind.MESSAGE,
        channel=Channel.SMS,
        provider_event_id=sid,
        sender=sender,
        conversation=sender,
        text=form["Body"],
    )


def _status(form: Mapping[str, str], status: str) -> list[InboundEvent]:
    """A status callback; a call's first webhook (``ringing``) and intermediate steps give nothing."""
    sid = form.get("MessageSid") or form.get("CallSid") or ""
    outcome = STATUS_OUTCOMES.get(status)
    if outcome is None or not sid:
        return []
    return [
        InboundEvent(
            kind=InboundKind.STATUS,
            channel=Channel.SMS if "MessageSid" in form else Channel.VOICE,
            provider_event_id=f"{sid}:{status}",
            status=outcome,
            provider_message_id=sid,
        )
    ]


def _voice_turn(form: Mapping[str, str]) -> InboundEvent:
    call, caller = form.get("CallSid", ""), form.get("From", "")
    if not call or not caller:
        raise InputRejected("a voice webhook needs CallSid and From", code="malformed_webhook")
    speech = form.get("SpeechResult", "")
    # One call has many turns and Twilio gives a turn no id of its own: the call and what was said
    # name it, so a replayed webhook maps to the same decision.
    turn = hashlib.sha256(speech.encode("utf-8")).hexdigest()[:16]
    return InboundEvent(
        kind=InboundKind.MESSAGE,
        channel=Channel.VOICE,
        provider_event_id=f"{call}:{turn}",
        sender=caller,
        conversation=call,
        text=speech,
    )


def voice_twiml(reply: Reply | None, gather_action: str | None, greeting: str | None = None) -> str:
    """TwiML that speaks ``reply`` (its SSML inside ``<Say>``) and, with ``gather_action``, listens for
    the caller's answer. The ``<Say>`` sits inside ``<Gather>`` so the caller can barge in: the
    first sentence is the answer (the voice fitter keeps sentences short), and speaking over the
    rest interrupts it."""
    if reply is not None and reply.ssml:
        spoken = _SPEAK.sub("", reply.ssml)
    else:
        spoken = escape(reply.text if reply is not None else greeting or "How can we help?")
    say = f'<Say voice="Polly.Joanna">{spoken}</Say>'
    if gather_action is None:
        return f'<?xml version="1.0" encoding="UTF-8"?><Response>{say}</Response>'
    gather = (
        f'<Gather input="speech" bargeIn="true" speechTimeout="auto" action={quoteattr(gather_action)} '
        f'method="POST">{say}</Gather>'
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{gather}</Response>'


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
