"""Request-scoped dependencies: the engine and the authenticated, rate-limited, role-checked caller.

Order for every ``/v1`` request: 401 (no, unknown or revoked key) → 429 (the key's bucket is
empty) → 403 (the role may not call this operation, see ``roles.MATRIX``) → the handler, which
answers 404 for anything outside the key's tenant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.from_thread
from fastapi import Depends, Request
from opentelemetry import trace
from starlette.concurrency import run_in_threadpool

from tactful.api import roles
from tactful.engine import Engine
from tactful.errors import AuthError
from tactful.governance.ratelimit import LocalLimiter, RateLimited, RequestLimiter
from tactful.store.base import ApiKeyRecord
from tactful.tenants import Authenticator


async def engine(request: Request) -> Engine:
    eng: Engine = request.app.state.engine
    return eng


def _authenticator(request: Request) -> Authenticator:
    state = request.app.state
    store = state.engine.store
    auth: Authenticator | None = getattr(state, "authenticator", None)
    # Built on first use: with an app-owned engine the store only exists once the lifespan ran.
    if auth is None or getattr(state, "authenticator_store", None) is not store:
        auth = Authenticator(store)
        state.authenticator, state.authenticator_store = auth, store
    return auth


def authenticator(request: Request) -> Authenticator:
    """The app's key checker (shared with the console's sign-in)."""
    return _authenticator(request)


def _limiter(request: Request) -> RequestLimiter | None:
    limiter: RequestLimiter | None = getattr(request.app.state, "rate_limiter", None)
    return limiter


def client_address(request: Request) -> str:
    """The peer's address: what the failed-key-check limit is scoped by (with the key id)."""
    return request.client.host if request.client is not None else ""


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header and scheme.lower() != "bearer":
        raise AuthError("use 'Authorization: Bearer <api key>'", code="invalid_auth_scheme")
    return token.strip() or None


def _admit(request: Request, key: ApiKeyRecord, wait: float) -> ApiKeyRecord:
    """What follows the key check: 429 when the key's bucket was empty, then the role (403)."""
    if wait > 0:
        raise RateLimited(wait)
    roles.check(request, key)
    trace.get_current_span().set_attribute("tactful.tenant_id", key.tenant_id)  # a no-op untraced
    return key


async def caller(request: Request) -> ApiKeyRecord:
    # The key check runs in the thread pool: even its cached path reads the key's row (so a
    # revocation applies on the next request), and a database that is slow or frozen must never
    # stall the event loop (/healthz, /readyz and every other request share it). Only a key's
    # first check in this process pays scrypt (~50 ms).
    api_key = _api_key(request)
    auth = _authenticator(request)
    key = await run_in_threadpool(
        functools.partial(auth.authenticate, api_key, source=client_address(request))
    )
    limiter = _limiter(request)
    wait = 0.0 if limiter is None else await limiter.acquire(key.key_id)  # Redis trouble: local limits
    return _admit(request, key, wait)


async def key_checker(request: Request) -> Authenticator:
    """The app's key checker, resolved on the event loop (see ``caller_on_worker``)."""
    return _authenticator(request)


def caller_on_worker(request: Request, auth: Authenticator) -> ApiKeyRecord:
    """``caller``'s checks, in its order (401 → 429 → 403), for a sync handler: they run on the
    worker thread the handler already runs on, so a request makes one thread-pool hop instead of
    two. The in-process limiter is asked directly; a Redis one is awaited on the event loop.

    A handler that checks its key this way is marked with ``checks_key_itself``: FastAPI validates
    its body before calling it, so the 422 handler runs ``caller`` first (``problems.install``)
    and a bad key still answers 401 before a bad body answers 422."""
    key = auth.authenticate(_api_key(request), source=client_address(request))
    limiter = _limiter(request)
    if limiter is None:
        wait = 0.0
    elif isinstance(limiter, LocalLimiter):
        wait = limiter.buckets.acquire(key.key_id)
    else:
        wait = anyio.from_thread.run(limiter.acquire, key.key_id)
    return _admit(request, key, wait)


_F = TypeVar("_F", bound=Callable[..., Any])


def checks_key_itself(handler: _F) -> _F:
    """Mark a handler that calls ``caller_on_worker`` instead of depending on ``caller``."""
    handler.__dict__["checks_key_itself"] = True
    return handler


def key_check_deferred(request: Request) -> bool:
    """Whether the matched route's handler checks the key itself (so it has not run yet)."""
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return bool(getattr(endpoint, "checks_key_itself", False))


EngineDep = Annotated[Engine, Depends(engine)]
CallerDep = Annotated[ApiKeyRecord, Depends(caller)]
KeyCheckerDep = Annotated[Authenticator, Depends(key_checker)]
