"""Request-scoped dependencies: the engine and the authenticated, rate-limited, role-checked caller.

Order for every ``/v1`` request: 401 (no, unknown or revoked key) → 429 (the key's bucket is
empty) → 403 (the role may not call this operation, see ``roles.MATRIX``) → the handler, which
answers 404 for anything outside the key's tenant.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Request
from opentelemetry import trace
from starlette.concurrency import run_in_threadpool

from tactful.api import roles
from tactful.engine import Engine
from tactful.errors import AuthError
from tactful.governance.ratelimit import RateLimited, RequestLimiter
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


async def caller(request: Request) -> ApiKeyRecord:
    # The key check runs in the thread pool: even its cached path reads the key's row (so a
    # revocation applies on the next request), and a database that is slow or frozen must never
    # stall the event loop (/healthz, /readyz and every other request share it). Only a key's
    # first check in this process pays scrypt (~50 ms).
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header and scheme.lower() != "bearer":
        raise AuthError("use 'Authorization: Bearer <api key>'", code="invalid_auth_scheme")
    auth = _authenticator(request)
    api_key = token.strip() or None
    key = await run_in_threadpool(
        functools.partial(auth.authenticate, api_key, source=client_address(request))
    )
    limiter = _limiter(request)
    if limiter is not None:
        wait = await limiter.acquire(key.key_id)  # Redis trouble degrades to local limits, never raises
        if wait > 0:
            raise RateLimited(wait)
    roles.check(request, key)
    trace.get_current_span().set_attribute("tactful.tenant_id", key.tenant_id)  # a no-op untraced
    return key


EngineDep = Annotated[Engine, Depends(engine)]
CallerDep = Annotated[ApiKeyRecord, Depends(caller)]
