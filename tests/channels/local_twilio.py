"""A local HTTP server implementing the two Twilio REST endpoints Tactful calls (Messages, Calls),
with HTTP Basic auth as Twilio checks it. ``mode`` switches it to an outage (503) or to refusing
the recipient (400, Twilio error 21211), so retries, breakers and fallbacks run against real HTTP."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "local-twilio-auth-token-0123456789"
FROM_NUMBER = "+15005550006"


@dataclass
class LocalTwilio:
    mode: str = "ok"  # ok | down | reject
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                outer._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length", "0"))
        form = dict(parse_qsl(h.rfile.read(length).decode()))
        with self._lock:
            self.requests += 1
            mode = self.mode
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if h.headers.get("Authorization") != expected:
            self._reply(h, 401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        if mode == "down":
            self._reply(h, 503, {"code": 20500, "message": "Service unavailable", "status": 503})
            return
        if mode == "reject":
            self._reply(h, 400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
            return
        base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/"
        with self._lock:
            n = next(self._ids)
            if h.path == base + "Messages.json":
                sid = f"SM{n:032d}"
                self.messages.append({**form, "sid": sid})
            elif h.path == base + "Calls.json":
                sid = f"CA{n:032d}"
                self.calls.append({**form, "sid": sid})
            else:
                sid = ""
        if not sid:
            self._reply(h, 404, {"code": 20404, "message": "not found", "status": 404})
            return
        self._reply(h, 201, {"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID, **form})


def credentials(server: LocalTwilio) -> dict[str, str]:
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM_NUMBER,
        "base_url": server.base_url,
    }
