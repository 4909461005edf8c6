"""``POST /v1/messages`` checks its key on the worker thread that decides (one thread-pool hop), and
still answers in the order every ``/v1`` request does: 400 for malformed JSON, then 401 → 429 → 403
before 422 for a body that does not validate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest

from tactful.config import Settings
from tactful.engine import Engine
from tactful.governance.ratelimit import RateLimited
from tactful.store.base import Store
from tactful.tenants import NewTenant, issue_key
from tests.api.conftest import Client
from tests.api.test_api import MSG, problem

INVALID = {**MSG, "channel": "pigeon"}  # 422 unknown_channel with a good key


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the callables the app sends to the thread pool."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    def name(func: Any) -> str:
        # FastAPI and the key check hand over functools.partial objects: name what they wrap.
        keywords = getattr(func, "keywords", {})
        inner = keywords.get("function") or getattr(func, "func", None)
        return name(inner) if inner is not None else str(getattr(func, "__name__", "?"))

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(name(func))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return seen


def test_a_decision_makes_one_thread_pool_hop(client: Client, auth: dict[str, str], hops: list[str]) -> None:
    client.post("/v1/messages", json={**MSG, "event_id": "warm"}, headers=auth)  # the key's first check
    hops.clear()
    r = client.post("/v1/messages", json={**MSG, "event_id": "one-hop"}, headers=auth)
    assert r.status_code == 200, r.text
    assert hops == ["decide_message"]  # served by fast_path.MessagesFastPath
    # Every other /v1 route still checks its key through the `caller` dependency's own hop.
    hops.clear()
    assert client.get(f"/v1/decisions/{r.json()['decision_id']}", headers=auth).status_code == 200
    assert hops == ["authenticate", "get_decision"]


def test_the_first_decision_finds_the_route_and_later_ones_skip_fastapi(
    client: Client, auth: dict[str, str], hops: list[str]
) -> None:
    # fast_path.MessagesFastPath: the first request takes FastAPI's route (and learns the route
    # object it stamps); a later body that validates is decided without FastAPI's request handling.
    first = client.post("/v1/messages", json={**MSG, "event_id": "first"}, headers=auth)
    assert first.status_code == 200 and hops == ["post_message"]
    hops.clear()
    fast = client.post("/v1/messages", json={**MSG, "event_id": "fast"}, headers=auth)
    assert fast.status_code == 200 and hops == ["decide_message"]
    assert fast.headers["content-type"] == "application/json" and fast.headers["x-request-id"]
    assert fast.json().keys() == first.json().keys() and fast.json()["event_id"] == "fast"
    # The same event again is the stored decision, as through the route.
    again = client.post("/v1/messages", json={**MSG, "event_id": "fast"}, headers=auth)
    assert again.json()["decision_id"] == fast.json()["decision_id"]


def test_what_the_fast_path_does_not_take_is_answered_by_the_route(
    client: Client, auth: dict[str, str], hops: list[str]
) -> None:
    assert client.post("/v1/messages", json=MSG, headers=auth).status_code == 200  # the route, learned
    hops.clear()
    # Another media type: FastAPI does not parse it as JSON, so the body does not validate.
    text = {**auth, "Content-Type": "text/plain"}
    r = client.post("/v1/messages", content=json.dumps({**MSG, "event_id": "t"}).encode(), headers=text)
    assert problem_code(r, 422) == "validation_error"
    # A body that does not validate is replayed to the route: its key check, then its 422.
    assert problem_code(client.post("/v1/messages", json=INVALID, headers=auth), 422) == "unknown_channel"
    assert "decide_message" not in hops and "authenticate" in hops
    # The body limit still cuts a body off before it is read whole.
    big = {**MSG, "event_id": "big", "text": "x" * (65 * 1024)}
    assert problem_code(client.post("/v1/messages", json=big, headers=auth), 413) == "payload_too_large"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer nope"}, "invalid_api_key"),
        ({"Authorization": "Basic abc"}, "invalid_auth_scheme"),
    ],
)
def test_a_bad_key_is_401_before_a_bad_body_is_422(
    client: Client, headers: dict[str, str], code: str
) -> None:
    problem(client.post("/v1/messages", json=INVALID, headers=headers), 401, code)
    problem(client.post("/v1/messages", json=MSG, headers=headers), 401, code)


def problem_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["code"]
    return code


def test_the_order_of_answers_for_bad_input(
    client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    bad_key = {"Authorization": "Bearer nope"}
    # Malformed JSON is found before any key check, as before: 400 whatever the key.
    json_type = {"Content-Type": "application/json"}
    r = client.post("/v1/messages", content=b'{"customer_id": ', headers=bad_key | json_type)
    assert problem_code(r, 400) == "malformed_json"
    # A body that does not validate: 401 for a bad key, 403 for a role that may not decide, else 422.
    assert problem_code(client.post("/v1/messages", json=INVALID, headers=bad_key), 401) == "invalid_api_key"
    auditor = {"Authorization": f"Bearer {issue_key(store, tenant.tenant.tenant_id, 'auditor')}"}
    assert problem_code(client.post("/v1/messages", json=INVALID, headers=auditor), 403) == "forbidden_role"
    assert problem_code(client.post("/v1/messages", json=MSG, headers=auditor), 403) == "forbidden_role"
    assert problem_code(client.post("/v1/messages", json=INVALID, headers=auth), 422) == "unknown_channel"


@pytest.fixture
def limited(engine: Engine) -> Iterator[Client]:
    from tactful.api.app import create_app

    c = Client(create_app(engine, Settings(rate_limit_per_second=1, rate_limit_burst=1)))
    yield c
    c.close()


def test_an_empty_bucket_is_429_before_a_bad_body_is_422(limited: Client, auth: dict[str, str]) -> None:
    assert limited.post("/v1/messages", json=MSG, headers=auth).status_code == 200
    r = limited.post("/v1/messages", json=INVALID, headers=auth)
    assert problem_code(r, 429) == "rate_limited" and r.headers["Retry-After"]
    assert problem_code(limited.post("/v1/messages", json=MSG, headers=auth), 429) == "rate_limited"


class AsyncOnlyLimiter:
    """A limiter that can only be awaited on the event loop (as the Redis one): the worker thread
    asks it through ``anyio.from_thread``."""

    def __init__(self, grants: int) -> None:
        self.grants = grants
        self.asked = 0

    async def acquire(self, key: str) -> float:
        self.asked += 1
        self.grants -= 1
        return 0.0 if self.grants >= 0 else 2.0

    def health(self) -> str:
        return "ok"

    async def aclose(self) -> None:
        return None


def test_a_limiter_on_the_event_loop_is_awaited_from_the_worker(client: Client, auth: dict[str, str]) -> None:
    limiter = AsyncOnlyLimiter(grants=1)
    client.app.state.rate_limiter = limiter
    assert client.post("/v1/messages", json=MSG, headers=auth).status_code == 200
    r = client.post("/v1/messages", json={**MSG, "event_id": "second"}, headers=auth)
    assert problem_code(r, 429) == RateLimited.code and r.headers["Retry-After"] == "2"
    assert limiter.asked == 2
