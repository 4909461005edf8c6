"""``/v1/channels``: provider webhooks (signed by the provider, no API key), a tenant's provider
credentials (write-only: never returned), and a decision's delivery status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from tactful.api.deps import CallerDep
from tactful.channels.service import ChannelService
from tactful.channels.slack import CHALLENGE
from tactful.channels.transport import WebhookRequest
from tactful.channels.twilio import EMPTY_TWIML, voice_twiml
from tactful.errors import InputRejected, NotFound

router = APIRouter(prefix="/v1", tags=["channels"])

#: A webhook body larger than this is refused before parsing (Twilio's are a few KB).
MAX_WEBHOOK_BYTES = 64 * 1024


def channel_service(request: HTTPConnection) -> ChannelService:
    """The app's channel service, built on first use around the app's engine."""
    state = request.app.state
    service: ChannelService | None = getattr(state, "channels", None)
    if service is None or service.engine is not state.engine:
        service = state.channels = ChannelService(state.engine)
    return service


ServiceDep = Annotated[ChannelService, Depends(channel_service)]
TenantQuery = Annotated[str, Query(min_length=1, max_length=64, description="the tenant the webhook is for")]


async def _webhook(request: Request) -> WebhookRequest:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise InputRejected("webhook body too large", code="payload_too_large")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputRejected("the webhook body is not form-encoded", code="malformed_webhook") from exc
    return WebhookRequest(url=str(request.url), headers=dict(request.headers), body=body, form=form)


def _xml(text: str) -> Response:
    return Response(text, media_type="application/xml")


@router.post("/channels/twilio/sms", summary="Twilio SMS webhook (inbound messages and status callbacks)")
async def twilio_sms(request: Request, tenant_id: TenantQuery, service: ServiceDep) -> Response:
    webhook = await _webhook(request)
    await run_in_threadpool(service.inbound, tenant_id, "twilio", webhook)
    return _xml(EMPTY_TWIML)  # the reply goes out through the REST API, from the delivery outbox


@router.post("/channels/twilio/voice", summary="Twilio voice webhook: answers with TwiML (SSML inside <Say>)")
async def twilio_voice(request: Request, tenant_id: TenantQuery, service: ServiceDep) -> Response:
    webhook = await _webhook(request)
    results = await run_in_threadpool(service.inbound, tenant_id, "twilio", webhook)
    action = str(request.url)
    for result in results:
        if result.decision is not None:
            reply = result.decision.reply
            if result.decision.reply.channel is None:  # no_contact: nothing to say, end politely
                return _xml(voice_twiml(None, None, greeting="Thank you. Goodbye."))
            return _xml(voice_twiml(reply, gather_action=action))
    if results:  # a status callback
        return _xml(EMPTY_TWIML)
    return _xml(voice_twiml(None, gather_action=action))  # a call starting: greet and listen


@router.post("/channels/slack/events", summary="Slack Events API (signed with the app's signing secret)")
async def slack_events(request: Request, tenant_id: TenantQuery, service: ServiceDep) -> Response:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise InputRejected("webhook body too large", code="payload_too_large")
    webhook = WebhookRequest(url=str(request.url), headers=dict(request.headers), body=body)
    results = await run_in_threadpool(service.inbound, tenant_id, "slack", webhook)
    for result in results:
        if result.event.provider_event_id == CHALLENGE:  # Slack checking the URL when it is set up
            return JSONResponse({"challenge": result.event.text})
    return Response(status_code=200)


class CredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str] = Field(description="the provider's fields; stored encrypted, never returned")


class ProviderOut(BaseModel):
    provider: str
    updated_at: datetime


class DeliveryOut(BaseModel):
    decision_id: str
    channel: str
    state: str
    attempts: int
    fallback_from: str | None
    notes: list[str]
    provider_message_id: str | None
    sent_at: datetime | None


@router.put("/channels/credentials/{provider}", status_code=204, summary="Store a provider's credentials")
def put_credentials(provider: str, body: CredentialsIn, key: CallerDep, service: ServiceDep) -> Response:
    service.credentials.put(key.tenant_id, provider, body.fields)
    service.engine.store.audit.append(key.tenant_id, "channels.credentials_set", {"provider": provider})
    return Response(status_code=204)


@router.get(
    "/channels/credentials", response_model=list[ProviderOut], summary="Configured providers (no values)"
)
def list_credentials(key: CallerDep, service: ServiceDep) -> list[ProviderOut]:
    return [ProviderOut(provider=p, updated_at=t) for p, t in service.credentials.providers(key.tenant_id)]


@router.delete("/channels/credentials/{provider}", status_code=204, summary="Remove a provider's credentials")
def delete_credentials(provider: str, key: CallerDep, service: ServiceDep) -> Response:
    if not service.credentials.delete(key.tenant_id, provider):
        raise NotFound(f"no credentials for {provider!r}", code="credentials_not_found")
    service.engine.store.audit.append(key.tenant_id, "channels.credentials_removed", {"provider": provider})
    return Response(status_code=204)


@router.get(
    "/decisions/{decision_id}/delivery",
    response_model=DeliveryOut,
    summary="How a decision's reply was delivered",
)
def get_delivery(decision_id: str, key: CallerDep, service: ServiceDep) -> DeliveryOut:
    status = service.worker.status(key.tenant_id, decision_id)
    if status is None:
        raise NotFound(f"no delivery for decision {decision_id!r}", code="delivery_not_found")
    return DeliveryOut(
        decision_id=status.decision_id,
        channel=status.channel,
        state=status.state,
        attempts=status.attempts,
        fallback_from=status.fallback_from,
        notes=list(status.notes),
        provider_message_id=status.provider_message_id,
        sent_at=status.sent_at,
    )
