"""Web chat over WebSocket (issue 14): a session per conversation, a typing indicator while the
decision and the generation run, generated text streamed as it is written, flood limited.

Frames the server sends (JSON): ``{"type": "typing", "on": bool}``; ``{"type": "draft", "text"}``
(generated text as it streams: not yet checked); ``{"type": "retract"}`` (the draft failed the
checks: discard it); ``{"type": "reply", "decision_id", "text", "degraded"}`` (the checked reply:
always replaces any draft); ``{"type": "error", "code", "message"}``.
The widget sends ``{"text": "...", "id": "<its message id>"}``; re-sending an id returns the original reply.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tactful.api.channels import channel_service
from tactful.api.deps import CallerDep
from tactful.channels.webchat import MAX_MESSAGE_CHARS, ChatSession, FloodGate, issue_session, open_session
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    Decision,
    EventId,
    InboundMessage,
    TenantId,
    new_id,
)
from tactful.errors import AuthError, TactfulError
from tactful.render.generate import STREAM

router = APIRouter(prefix="/v1", tags=["channels"])
POLICY_VIOLATION = 1008  # WebSocket close code: bad token, or a flood that would not stop


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=128)
    conversation_id: str = Field(min_length=1, max_length=128)
    minutes: int = Field(default=60, ge=1, le=24 * 60)


class SessionOut(BaseModel):
    token: str
    expires_at: str


@router.post("/channels/webchat/sessions", response_model=SessionOut, summary="A web chat session token")
def create_session(body: SessionIn, key: CallerDep, request: Request) -> SessionOut:
    service = channel_service(request)
    vault = service.engine.vault
    if vault is None:
        raise TactfulError("web chat needs the vault (TACTFUL_MASTER_KEY)", code="vault_required")
    session = ChatSession(
        key.tenant_id, body.customer_id, body.conversation_id,
        service.engine.clock() + timedelta(minutes=body.minutes),
    )  # fmt: skip
    return SessionOut(token=issue_session(vault, session), expires_at=session.expires_at.isoformat())


@router.websocket("/channels/webchat")
async def webchat(ws: WebSocket, token: str = "") -> None:
    service = channel_service(ws)
    engine = service.engine
    try:
        if engine.vault is None:
            raise AuthError("web chat needs the vault", code="invalid_session")
        session = open_session(engine.vault, token, engine.clock())
    except AuthError:
        await ws.close(code=POLICY_VIOLATION)
        return
    await ws.accept()
    gate = FloodGate(engine.clock)
    try:
        while True:
            frame = await ws.receive_text()
            if not gate.allow():
                await _error(ws, "flood", "too many messages: slow down")
                if gate.exhausted:
                    await ws.close(code=POLICY_VIOLATION)
                    return
                continue
            text, message_id = _read(frame)
            if text is None:
                await _error(
                    ws,
                    "malformed_message",
                    f'send {{"text": "..."}} of at most {MAX_MESSAGE_CHARS} characters',
                )
                continue
            await _answer(ws, service.engine, session, text, message_id)
    except WebSocketDisconnect:
        return


def _read(frame: str) -> tuple[str | None, str]:
    import json

    try:
        data = json.loads(frame)
    except ValueError:
        return None, ""
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE_CHARS:
        return None, ""
    message_id = data.get("id")
    return text, message_id if isinstance(message_id, str) and 0 < len(message_id) <= 64 else new_id("msg")


async def _error(ws: WebSocket, code: str, message: str) -> None:
    await ws.send_json({"type": "error", "code": code, "message": message})


async def _answer(ws: WebSocket, engine: object, session: ChatSession, text: str, message_id: str) -> None:
    from tactful.engine import Engine

    assert isinstance(engine, Engine)
    loop = asyncio.get_running_loop()
    drafts: asyncio.Queue[str] = asyncio.Queue()
    message = InboundMessage(
        event_id=EventId(f"webchat:{session.conversation_id}:{message_id}"[:128]),
        tenant_id=TenantId(session.tenant_id),
        customer_id=CustomerId(session.customer_id),
        conversation_id=ConversationId(session.conversation_id),
        channel=Channel.CHAT,
        text=text,
        sent_at=engine.clock(),
    )

    def push(delta: str) -> None:  # called on the decision's thread as the model writes
        loop.call_soon_threadsafe(drafts.put_nowait, delta)

    def decide() -> Decision:
        token = STREAM.set(push)
        try:
            return engine.decide(message)
        finally:
            STREAM.reset(token)

    await ws.send_json({"type": "typing", "on": True})
    task = asyncio.ensure_future(run_in_threadpool(decide))
    streamed = ""
    while True:
        getter = asyncio.ensure_future(drafts.get())
        done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            streamed += getter.result()
            await ws.send_json({"type": "draft", "text": getter.result()})
            continue
        getter.cancel()
        break
    try:
        decision = task.result()
    except TactfulError as exc:
        await ws.send_json({"type": "typing", "on": False})
        await _error(ws, exc.code, exc.message)
        return
    if streamed and streamed.strip() != decision.reply.text.strip():
        await ws.send_json({"type": "retract"})  # a draft the checks refused, or a template fallback
    await ws.send_json({"type": "typing", "on": False})
    await ws.send_json(
        {
            "type": "reply",
            "decision_id": decision.decision_id,
            "text": decision.reply.text,
            "degraded": decision.degraded,
        }
    )
