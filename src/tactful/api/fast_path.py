"""``POST /v1/messages`` below FastAPI's per-request machinery: the hot route, served directly.

A decision's own CPU is ~1.5–2 ms; FastAPI's request handling around it (route matching, reading
the body through ``Request``, ``json.loads`` then validation through its field, solving three
dependencies, the exception middleware) cost the event loop, which every request shares, 0.35 ms
of CPU per POST against 0.15 for ``/healthz``; served here, 0.19 (``bench/http_overhead.py``,
docs/performance.md). This middleware answers the common case — a JSON body that
validates — with the same handler (``messages.decide_message``), on one thread-pool hop, and hands
everything else to the app unchanged, with the body it already read: a body that does not
validate, another media type or an empty body get FastAPI's answers (401 before 422, 400 for bad
JSON) from the route itself, so there is one definition of what those answers are.

It sits inside the body limit and the request telemetry (so 413s, request ids, spans, metrics and
the access log are as for any route) and stamps the matched route on the scope, as Starlette's
router does, so the role check and the metrics see ``/v1/messages``. Errors the handler raises go
to the app's own exception handlers (``problems.install``): the same problem+json, the same codes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tactful.api.deps import authenticator
from tactful.api.dto import MessageIn
from tactful.api.messages import decide_message

PATH = "/v1/messages"
_Handler = Callable[[Request, Exception], Awaitable[Response]]


class MessagesFastPath:
    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._route: Any = None  # the route object FastAPI's router stamps on this path's scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or not _json_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        if self._route is None:
            # The first request takes the app's way, and leaves the route FastAPI matched on the
            # scope (its router nests included routers; this is the object it would stamp).
            await self.app(scope, receive, send)
            route = scope.get("route")
            if getattr(route, "path", None) == PATH:
                self._route = route
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left, or the body limit cut it off (it answers 413 itself)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replay = _replaying(body, receive)
        try:
            parsed = MessageIn.model_validate_json(body)
        except ValidationError:
            # FastAPI's route answers a body that does not validate (its 401-first, 400 and 422).
            await self.app(scope, replay, send)
            return
        scope["route"] = self._route  # as the router does: the role check and the metrics read it
        request = Request(scope, replay)
        engine = self.api.state.engine
        try:
            response: Response = await anyio.to_thread.run_sync(
                decide_message, request, parsed, engine, authenticator(request)
            )
        except Exception as exc:
            handler = _handler_for(self.api.exception_handlers, exc)
            if handler is None:
                raise  # as through the app: the server error middleware answers 500
            response = await handler(request, exc)
        await response(scope, replay, send)


def _json_body(scope: Scope) -> bool:
    """Whether the request says its body is ``application/json`` (or says nothing, which FastAPI
    parses as JSON too); any other media type is left to FastAPI's own handling."""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return True


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then waits on the client as before."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _handler_for(handlers: Mapping[Any, Any], exc: Exception) -> _Handler | None:
    """The app's handler for ``exc``, looked up along its class's MRO as Starlette does."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            handler: _Handler = handlers[cls]
            return handler
    return None
