"""A small OpenAI-compatible chat-completions server for tests: real HTTP and real server-sent
events, answering from a script. Each request takes the next scripted answer: a text (streamed in
a few chunks), ``HANG`` (hold the request until the test releases it: a model too slow for the
deadline, without any sleep), or an HTTP status code (a failing server). Requests are kept so a
test can read exactly what the model was sent."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "<hang>"


class LocalOpenAI:
    def __init__(self, script: list[str | int] | None = None, *, default: str = "") -> None:
        self.script: deque[str | int] = deque(script or [])
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                outer._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length", "0"))))
        with self._lock:
            self.requests.append(body)
            answer = self.script.popleft() if self.script else self.default
        if h.path != "/v1/chat/completions":
            self._status(h, 404)
            return
        if isinstance(answer, int):
            self._status(h, answer)
            return
        if answer == HANG:
            self.release.wait(timeout=30)
            answer = "Too late."
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        words = answer.split(" ")
        pieces = [
            " ".join(words[i : i + 4]) + (" " if i + 4 < len(words) else "") for i in range(0, len(words), 4)
        ]
        for i, piece in enumerate(pieces or [""]):
            chunk = {
                "id": "chatcmpl-local",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body.get("model", "local"),
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": piece},
                        "finish_reason": None if i < len(pieces) - 1 else "stop",
                    }
                ],
            }
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
        h.close_connection = True

    def _status(self, h: BaseHTTPRequestHandler, code: int) -> None:
        data = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
