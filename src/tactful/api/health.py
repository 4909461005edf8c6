"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from tactful.api.deps import EngineDep
from tactful.errors import StoreError

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store answers")
def readyz(engine: EngineDep) -> dict[str, str]:
    if not engine.store.ping():
        raise StoreError("store did not answer", code="store_unavailable")
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    # Multiprocess mode reads files and probes query the store: off the event loop.
    body = await run_in_threadpool(request.app.state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
