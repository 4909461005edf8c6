"""Per HTTP request: the request id, the server span, the HTTP metrics and one ``tactful.http`` line.

``X-Request-ID`` is honoured when it is a short token (letters, digits, ``._:-``, at most 128) and
made otherwise; it is returned on every response and stamped on every log line of the request,
including those of the engine in the thread pool (context variables follow it there). The span is
parented on an incoming W3C ``traceparent``. Everything is named by the route template
(``/v1/customers/{customer_id}``), never by the concrete path, which can hold a customer id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tactful.observability.logs import request_id
from tactful.observability.metrics import Metrics
from tactful.observability.propagation import context_from
from tactful.observability.tracing import mark_failed

log = logging.getLogger("tactful.http")

_VALID_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "(unmatched)"


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestTelemetry:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = dict(scope.get("headers", ()))
        given = headers.get(b"x-request-id", b"")
        rid = given.decode() if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500  # until a response starts: an exception that escapes is a 500
        method = str(scope.get("method", "GET"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())],
                }
            await send(message)

        started = time.perf_counter()
        try:
            tracer = _tracer(scope)
            if tracer is None:
                await self.app(scope, receive, send_with_id)
            else:
                carrier = {
                    k: headers[k.encode()].decode("latin-1")
                    for k in ("traceparent", "tracestate")
                    if k.encode() in headers
                }
                with tracer.start_as_current_span(
                    method,
                    context=context_from(carrier),
                    kind=SpanKind.SERVER,
                    attributes={"http.request.method": method, "tactful.request_id": rid},
                    record_exception=False,
                    set_status_on_exception=False,
                ) as span:
                    try:
                        await self.app(scope, receive, send_with_id)
                    except Exception as exc:
                        mark_failed(span, exc)
                        raise
                    finally:
                        route = route_of(scope)
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.route", route)
                        span.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            span.set_status(Status(StatusCode.ERROR, f"http {status}"))
        finally:
            route = route_of(scope)
            seconds = time.perf_counter() - started
            self.metrics.child(self.metrics.http_requests, method, route, str(status)).inc()
            self.metrics.child(self.metrics.http_seconds, method, route).observe(seconds)
            log.info(
                "http request",
                extra={
                    "fields": {
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    }
                },
            )
            request_id.reset(token)


def _tracer(scope: Scope) -> Any:
    # The engine (and so its tracing) may be built by the lifespan, after the middleware.
    engine = getattr(getattr(scope.get("app"), "state", None), "engine", None)
    tracing = getattr(engine, "tracing", None)
    return getattr(tracing, "tracer", None)
