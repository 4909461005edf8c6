"""``tactful serve --workers 2`` starts reliably (issue 13): importing the app and warming its models
takes longer than uvicorn's default 5 s health check, which used to kill the workers while they
started. Both workers come up once, none is replaced, and every request is answered."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.support.servers import free_port

pytestmark = pytest.mark.server

START_WITHIN_S = 240.0


def test_two_workers_start_once_and_answer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    store = open_store(url)
    api_key = create_tenant(store, "workers").api_key
    store.close()
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from tactful.cli import app; app()", "serve", "--workers", "2",
             "--port", str(port), "--db", url],
            env={**os.environ, "TACTFUL_SIGNAL_TIERS": "fast"}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_WITHIN_S
        with httpx.Client(base_url=base, timeout=30) as http:
            started = 0
            while time.monotonic() < deadline and proc.poll() is None:
                started = len(re.findall(r"Application startup complete", log_path.read_text()))
                if started >= 2:
                    break
                time.sleep(0.2)  # polling the supervisor's log for both workers, bounded above
            assert started == 2, log_path.read_text()[-3000:]
            assert http.get("/readyz").status_code == 200
            auth = {"Authorization": f"Bearer {api_key}"}
            for n in range(20):
                body = {"customer_id": f"c{n}", "conversation_id": f"k{n}", "channel": "chat", "text": "hi"}
                assert http.post("/v1/messages", json=body, headers=auth).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    text = log_path.read_text()
    # Each worker started exactly once: none was killed as unhealthy and replaced.
    assert len(re.findall(r"Started server process", text)) == 2, text[-3000:]
    assert "not ready in time" not in text and "hung" not in text
