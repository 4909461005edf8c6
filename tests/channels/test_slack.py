"""Slack end to end: Events API requests signed with slack_sdk's own SignatureVerifier, replies and
hand-offs posted with slack_sdk's WebClient to a local server implementing chat.postMessage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from tactful.store.schema import decisions
from tests.channels.conftest import BASE, Live

SECRET = "local-slack-signing-secret"
TOKEN = "xoxb-local-test-token"
EVENTS = "/v1/channels/slack/events"


class LocalSlack:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                ok = (
                    self.headers.get("Authorization") == f"Bearer {TOKEN}"
                    and self.path == "/api/chat.postMessage"
                )
                body: dict[str, Any] = (
                    json.loads(raw) if self.headers.get("Content-Type", "").startswith("application/json")
                    else dict(parse_qsl(raw))
                )  # fmt: skip
                if ok:
                    outer.posts.append(body)
                data = json.dumps(
                    {"ok": True, "channel": body.get("channel"), "ts": f"1700000000.{len(outer.posts):06d}"}
                    if ok else {"ok": False, "error": "invalid_auth"}
                ).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(live: Live) -> Iterator[LocalSlack]:
    server = LocalSlack()
    live.service.credentials.put(
        live.tenant_id,
        "slack",
        {
            "bot_token": TOKEN,
            "signing_secret": SECRET,
            "base_url": server.base_url,
            "agents_channel": "C-AGENTS",
        },
    )
    yield server
    server.close()


def _event(text: str, event_id: str = "Ev01") -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "event": {
                "type": "message",
                "channel": "C-CUSTOMER",
                "user": "U1",
                "text": text,
                "ts": "1.000100",
            },
        }
    ).encode()


def _post(live: Live, body: bytes, secret: str = SECRET) -> Any:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
        "Content-Type": "application/json",
    }
    return live.client.post(f"{BASE}{EVENTS}?tenant_id={live.tenant_id}", content=body, headers=headers)


def _decisions(live: Live) -> int:
    with live.store._db.read() as conn:
        return len(conn.execute(select(decisions.c.decision_id)).all())


def test_the_url_check_is_answered_once_signed(live: Live, slack: LocalSlack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()
    r = _post(live, body)
    assert r.status_code == 200 and r.json() == {"challenge": "c-123"}


def test_a_signed_message_is_answered_in_its_thread_once(live: Live, slack: LocalSlack) -> None:
    for _ in range(2):  # Slack retries an event it thinks was missed: same event id
        r = _post(live, _event("Hi, where is my order? It is two weeks late."))
        assert r.status_code == 200, r.text
    assert _decisions(live) == 1
    (post,) = slack.posts
    assert post["channel"] == "C-CUSTOMER" and post["thread_ts"] == "1.000100" and post["text"]


def test_a_forged_or_stale_request_is_401_and_stores_nothing(live: Live, slack: LocalSlack) -> None:
    assert _post(live, _event("refund me"), secret="not-the-secret").status_code == 401
    body = _event("refund me")
    old = str(int(time.time()) - 3600)
    stale = {
        "X-Slack-Request-Timestamp": old,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=old, body=body) or "",
    }
    r = live.client.post(f"{BASE}{EVENTS}?tenant_id={live.tenant_id}", content=body, headers=stale)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert _decisions(live) == 0 and slack.posts == []


def test_bot_messages_are_not_turns(live: Live, slack: LocalSlack) -> None:
    body = json.loads(_event("our own reply"))
    body["event"]["bot_id"] = "B1"
    assert _post(live, json.dumps(body).encode()).status_code == 200
    assert _decisions(live) == 0


def test_a_hand_off_is_posted_to_the_agents_channel_with_the_explanation(
    live: Live, slack: LocalSlack
) -> None:
    r = _post(live, _event("I want to speak to a real person right now, this is useless", event_id="Ev02"))
    assert r.status_code == 200
    with live.store._db.read() as conn:
        (row,) = conn.execute(select(decisions.c.decision_id, decisions.c.document)).all()
    decision = json.loads(row.document)
    assert decision["action"]["type"] in {"handoff_human", "escalate"}, decision["action"]
    agents = [p for p in slack.posts if p["channel"] == "C-AGENTS"]
    assert len(agents) == 1 and row.decision_id in agents[0]["text"]
    notes = decision["explanation"]["notes"]
    assert notes and notes[0][:30] in agents[0]["text"]
