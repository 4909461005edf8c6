"""What authentication costs per request: the cached path, the first (scrypt) verification, and the
pre-issue-5 SHA-256 lookup as the baseline, all in one process against one SQLite file.

Also the whole request through the ASGI app (``GET /v1/policies/active``, in-process) with a warm
cache, to put the auth share in proportion.

    python bench/auth.py
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.store import open_store
from tactful.tenants import Authenticator, create_tenant, hash_key

COMMAND = "python bench/auth.py"


def per_call_us(run: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median over ``repeats`` batches of the mean time per call, in microseconds."""
    for _ in range(min(n, 200)):
        run()
    batches = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            run()
        batches.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(batches)


def measure(tmp: Path) -> dict[str, float]:
    store = open_store(f"sqlite:///{tmp / 'auth.db'}")
    try:
        created = create_tenant(store, "bench")
        key = created.api_key
        legacy = "tk_" + "L" * 43
        store.add_api_key(created.tenant.tenant_id, hash_key(legacy), "decide")

        auth = Authenticator(store)
        auth.authenticate(key)
        cached = per_call_us(lambda: auth.cached(key), 2000)
        baseline = per_call_us(lambda: store.find_api_key(hash_key(legacy)), 2000)
        # A fresh authenticator per call: every check pays scrypt (a new process, or a cold cache).
        first = per_call_us(lambda: Authenticator(store).authenticate(key), 4, repeats=3)

        app = create_app(Engine(EngineParts(store)), Settings())
        headers = {"Authorization": f"Bearer {key}"}

        async def requests(n: int) -> float:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for _ in range(50):
                    await client.get("/v1/policies/active", headers=headers)
                t0 = time.perf_counter()
                for _ in range(n):
                    r = await client.get("/v1/policies/active", headers=headers)
                    assert r.status_code == 200
                return (time.perf_counter() - t0) / n * 1e6

        request = asyncio.run(requests(500))
    finally:
        store.close()
    return {"cached_us": cached, "baseline_us": baseline, "first_us": first, "request_us": request}


def section() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        m = measure(Path(tmp))
    return "\n".join(
        [
            "## Authentication cost per request",
            "",
            f"`{COMMAND}` — one process, SQLite, median of 5 batches. Keys are `tk_<key_id>_<secret>`;"
            " the secret is checked against a salted scrypt hash (n=2^14, r=8, p=1) once per key per"
            " process, then a SHA-256 of the key is compared against the cache; the key's row (and its"
            " `revoked` flag) is read on every request either way.",
            "",
            "| path | per call | vs. baseline |",
            "|---|---:|---:|",
            f"| baseline: pre-issue-5 SHA-256 lookup (`find_api_key`) | {m['baseline_us']:.1f} µs | 1.00× |",
            f"| cached verification (`Authenticator.cached`) | {m['cached_us']:.1f} µs"
            f" | {m['cached_us'] / m['baseline_us']:.2f}× |",
            f"| first verification in a process (scrypt) | {m['first_us'] / 1000:.1f} ms"
            f" | {m['first_us'] / m['baseline_us']:.0f}× |",
            "| whole request `GET /v1/policies/active` (ASGI in-process, warm cache)"
            f" | {m['request_us']:.0f} µs"
            f" | auth is {m['cached_us'] / m['request_us']:.0%} of it |",
            "",
        ]
    )


if __name__ == "__main__":
    print(section())
