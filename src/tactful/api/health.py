"""Liveness, readiness and Prometheus metrics.

``/readyz`` answers within ``READY_WITHIN`` seconds in every state, and names each dependency:
``store`` (``ok``, ``unavailable`` or ``timeout``: a frozen database does not answer at all) and
``rate_limit`` (``ok``, or ``degraded`` while Redis is unreachable and local limits apply), and
each circuit breaker (``bus``, ``hot_store``, ``tier_<name>`` per rich signal tier: ``ok``,
``circuit_open`` or ``circuit_half_open``).
The service is ready (200) while the store answers, ``degraded`` but still ready when only Redis
or NATS is gone, and 503 ``store_unavailable`` otherwise. One store probe runs at a time; concurrent
readiness checks share it, so a frozen database never piles up probe threads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from tactful.api.deps import EngineDep
from tactful.api.problems import problem
from tactful.breaker import CircuitBreaker
from tactful.engine import Engine
from tactful.governance.ratelimit import RequestLimiter

router = APIRouter(tags=["operations"])

#: Seconds the store probe may take before readiness answers ``timeout`` (under one second in all).
READY_WITHIN = 0.5


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store answers; each dependency's state")
async def readyz(request: Request, engine: EngineDep) -> Response:
    checks = {"store": await _store_state(request, engine)}
    limiter: RequestLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        checks["rate_limit"] = limiter.health()
    # Remote parts behind a circuit breaker (issue 13): a durable bus (events wait in the outbox
    # while it is away) and the hot store (features are read from SQL while it is away). Neither
    # makes the process unready: the service is ``degraded``.
    for check, breaker in breakers(engine).items():
        checks[check] = "ok" if breaker.state == "closed" else f"circuit_{breaker.state}"
    if checks["store"] != "ok":
        return problem(503, "store_unavailable", f"store: {checks['store']}", checks=checks)
    status = "ready" if all(state == "ok" for state in checks.values()) else "degraded"
    body: dict[str, Any] = {"status": status, "checks": checks}
    return JSONResponse(body)


def breakers(engine: Engine) -> dict[str, CircuitBreaker]:
    """The engine's circuit breakers by the ``/readyz`` check they answer."""
    found = {}
    bus = bus_breaker(engine)
    if bus is not None:
        found["bus"] = bus
    if engine.hot is not None:
        found["hot_store"] = engine.hot.breaker
    # tier_<name>: the rich signal tiers (the net, their fallback, has none)
    found.update({breaker.name: breaker for breaker in engine.tiers.breakers.values()})
    return found


def bus_breaker(engine: Engine) -> CircuitBreaker | None:
    bus = getattr(engine.bus, "inner", engine.bus)  # under the tracing wrapper, when tracing is on
    breaker = getattr(bus, "breaker", None)
    return breaker if isinstance(breaker, CircuitBreaker) else None


async def _store_state(request: Request, engine: Engine) -> str:
    probe: asyncio.Task[bool] | None = getattr(request.app.state, "store_probe", None)
    if probe is None or probe.done():
        # abandon_on_cancel: on timeout we answer, and the thread finishes (or fails) on its own,
        # bounded by the store's own timeouts.
        probe = asyncio.ensure_future(anyio.to_thread.run_sync(engine.store.ping, abandon_on_cancel=True))
        request.app.state.store_probe = probe
    try:
        async with asyncio.timeout(READY_WITHIN):
            answered = await asyncio.shield(probe)
    except TimeoutError:
        return "timeout"
    return "ok" if answered else "unavailable"


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    # Multiprocess mode reads files and probes query the store: off the event loop.
    body = await run_in_threadpool(request.app.state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
