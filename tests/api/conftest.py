from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine
from tactful.store.base import Store
from tactful.tenants import NewTenant, create_tenant


class Client:
    """A synchronous face on ``httpx.AsyncClient`` over ``ASGITransport``: the app runs in-process,
    on one event loop kept for the whole test, exactly as under uvicorn (sync endpoints in its
    thread pool)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tactful.test")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def concurrently(self, method: str, url: str, n: int, **kwargs: Any) -> list[httpx.Response]:
        """``n`` identical requests in flight at once (one event loop, the app's thread pool)."""

        async def all_at_once() -> list[httpx.Response]:
            return list(await asyncio.gather(*(self._http.request(method, url, **kwargs) for _ in range(n))))

        return self._runner.run(all_at_once())

    def close(self) -> None:
        self._runner.run(self._http.aclose())
        self._runner.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings(max_body_bytes=64 * 1024)))
    yield c
    c.close()


@pytest.fixture
def auth(tenant: NewTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.api_key}"}


@pytest.fixture
def other_tenant(store: Store) -> NewTenant:
    return create_tenant(store, "globex")


@pytest.fixture
def other_auth(other_tenant: NewTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {other_tenant.api_key}"}
