"""A few calls against a real uvicorn process (no in-process shortcuts): startup, auth, a decision,
bad input, and a clean shutdown."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tactful.api.process import server_process
from tactful.store import open_store
from tactful.tenants import create_tenant

pytestmark = pytest.mark.server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    store = open_store(url)
    api_key = create_tenant(store, "live").api_key
    store.close()
    with server_process({**os.environ, "TACTFUL_DATABASE_URL": url}) as server:
        yield server.base_url, api_key
        process = server.process
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM is a clean stop.
    assert process.returncode in (0, -signal.SIGTERM)


def test_real_server_decides_and_rejects(server: tuple[str, str]) -> None:
    base, key = server
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").status_code == 200
        assert http.post("/v1/messages", json={}).status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        body = {
            "customer_id": "c1",
            "conversation_id": "k1",
            "channel": "voice",
            "text": "I've been on hold for an hour, this is absolutely ridiculous",
        }
        r = http.post("/v1/messages", json=body, headers=auth)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["tone"]["brevity"] >= 0.7 and d["reply"]["ssml"].startswith("<speak>")
        assert http.get(f"/v1/decisions/{d['decision_id']}", headers=auth).json() == d
        big = http.post(
            "/v1/messages",
            content=json.dumps({**body, "text": "x" * 1_000_000}),
            headers={**auth, "Content-Type": "application/json"},
        )
        assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
        assert "tactful_decisions_total" in http.get("/metrics").text


def test_the_service_freezes_its_start_up_heap_and_lets_it_go_on_shutdown(tmp_path: Path) -> None:
    """``tactful serve``'s lifespan: once the engine is built, its start-up objects are out of the
    collector's reach (a full collection walked them in ~100 ms, wiring.settle_startup_heap); a
    stopped app unfreezes them, so an embedding process that starts it again does not pile up."""
    import asyncio
    import gc

    from tactful.api.app import create_app
    from tactful.config import Settings

    app = create_app(settings=Settings(database_url=f"sqlite:///{tmp_path / 'freeze.db'}"))

    async def run() -> tuple[int, int]:
        async with app.router.lifespan_context(app):
            running = gc.get_freeze_count()
        return running, gc.get_freeze_count()

    running, after = asyncio.run(run())
    assert running > 10_000  # the engine's models and vocabularies, at least
    assert after == 0
