"""What the HTTP layer costs beyond the decision: the ASGI app driven in-process (no sockets, no
client), CPU per ``POST /v1/messages`` with ``Engine.decide`` answered from a stored decision,
against CPU per ``GET /healthz``, and the same POST with real decisions split by thread.

    PYTHONPATH=src python bench/http_overhead.py [--requests 1000] [--concurrency 8]

``--concurrency N`` keeps N requests in flight (as wrk's connections do), so the thread-pool hops,
the GIL hand-offs between the event loop and the workers, and group commit's batching are counted.

CPU is read per thread from /proc (the event loop, the thread pool, the outbox relay), so the
background threads a POST sets off are counted too. Issue 12's aim for the HTTP overhead (the
stubbed POST, whose CPU holds no decision) is ≤ 0.3 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tactful.api.app import create_app
from tactful.domain import Decision, InboundMessage
from tactful.store import open_store
from tactful.tenants import create_tenant


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds per thread of this process (user + system), with the thread's name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out = {}
    for task in Path("/proc/self/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        out[int(task.name)] = (names.get(int(task.name), "?"), ticks / os.sysconf("SC_CLK_TCK"))
    return out


def by_thread(before: dict[int, tuple[str, float]], n: int) -> dict[str, float]:
    after = thread_cpu()
    spent: Counter[str] = Counter()
    for tid, (name, cpu) in after.items():
        group = "thread pool" if name.startswith("AnyIO") else name
        spent[group] += cpu - before.get(tid, (name, 0.0))[1]
    return {k: round(v / n * 1000, 3) for k, v in spent.most_common() if v > 0}


async def run(app: Any, key: str, requests: int, concurrency: int = 1) -> dict[str, Any]:
    async def call(method: str, path: str, body: bytes = b"", headers: tuple[Any, ...] = ()) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "scheme": "http", "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 80),
            "headers": [(b"host", b"bench"), (b"content-length", str(len(body)).encode()), *headers],
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError

        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        if status != [200]:
            raise RuntimeError(f"{method} {path} answered {status}")

    headers = ((b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json"))
    count = 0

    def body() -> bytes:
        nonlocal count
        count += 1
        return json.dumps(
            {"event_id": f"o{count}", "customer_id": f"c{count % 64}", "conversation_id": f"k{count % 16}",
             "channel": "chat", "text": "I was charged twice for my order, please refund the second payment"}
        ).encode()  # fmt: skip

    async def timed(label: str, method: str, path: str, with_body: bool) -> dict[str, float]:
        before, started = thread_cpu(), time.process_time()

        async def client(n: int) -> None:
            for _ in range(n):
                await call(method, path, body() if with_body else b"", headers if with_body else ())

        share, extra = divmod(requests, concurrency)
        await asyncio.gather(*(client(share + (i < extra)) for i in range(concurrency)))
        total = (time.process_time() - started) / requests * 1000
        return {
            f"{label} CPU ms": round(total, 3),
            **{f"{label} {k}": v for k, v in by_thread(before, requests).items()},
        }

    engine = app.state.engine
    decide = engine.decide
    last: list[Decision] = []

    def keeping(message: InboundMessage) -> Decision:
        last[:] = [decide(message)]
        return last[0]

    engine.decide = keeping
    for _ in range(100):  # warm-up: models, caches, prepared statements
        await call("POST", "/v1/messages", body(), headers)
    engine.decide = decide
    result = await timed("POST", "POST", "/v1/messages", True)
    engine.decide = lambda message: last[0]  # the HTTP layer alone: a stored answer
    result |= await timed("POST stubbed", "POST", "/v1/messages", True)
    result |= await timed("healthz", "GET", "/healthz", False)
    engine.decide = decide
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'http.db'}"
        store = open_store(url)
        key = create_tenant(store, "bench").api_key
        store.close()
        os.environ["TACTFUL_DATABASE_URL"] = url
        # The limiter still runs on every request; its bucket must not answer 429 to the stubbed run.
        os.environ.setdefault("TACTFUL_RATE_LIMIT_PER_SECOND", "1000000")
        app = create_app()

        async def with_lifespan() -> dict[str, Any]:
            incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            await incoming.put({"type": "lifespan.startup"})
            task = asyncio.create_task(
                app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, incoming.get, outgoing.put)
            )
            await outgoing.get()
            try:
                return await run(app, key, args.requests, args.concurrency)
            finally:
                await incoming.put({"type": "lifespan.shutdown"})
                await outgoing.get()
                await task

        result = asyncio.run(with_lifespan())
    overhead = result["POST stubbed CPU ms"]
    print(json.dumps(result, indent=2))
    healthz = result["healthz CPU ms"]
    print(f"HTTP overhead of a POST (decision stubbed) {overhead:.3f} ms CPU; healthz {healthz:.3f}")


if __name__ == "__main__":
    main()
