"""Signing in and out of the console with an admin or auditor API key (audited)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tactful.api.console.web import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    UserDep,
    call,
    engine_of,
    form,
    new_sign_in_token,
    page,
    redirect,
    set_cookie,
)
from tactful.api.deps import authenticator, client_address
from tactful.errors import AuthError
from tactful.governance.ratelimit import RateLimited

router = APIRouter(prefix="/console", include_in_schema=False)
CONSOLE_ROLES = ("admin", "auditor")


@router.get("/sign-in")
def sign_in_page(request: Request, note: str = "") -> Response:
    token = new_sign_in_token()
    response = page(request, "sign_in.html", None, csrf=token, error="", note=note[:200])
    set_cookie(response, request, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await form(request, request.cookies.get(SIGN_IN_COOKIE, ""))
    api_key = fields.get("api_key", "").strip()
    auth = authenticator(request)

    def fail(message: str, status: int = 401) -> Response:
        token = new_sign_in_token()
        response = page(request, "sign_in.html", None, status=status, csrf=token, error=message, note="")
        set_cookie(response, request, SIGN_IN_COOKIE, token, max_age=3600)
        return response

    try:
        # Off the event loop: even the cached path reads the key's row (a frozen database must not
        # stall the loop). Raises for a missing, malformed, unknown or revoked key.
        key = await run_in_threadpool(
            functools.partial(auth.authenticate, api_key, source=client_address(request))
        )
    except AuthError:
        return fail("That key is not valid (unknown, malformed or revoked).")
    except RateLimited:
        return fail("Too many attempts with this key; wait a moment.", 429)
    if key.role not in CONSOLE_ROLES:
        return fail(f"A {key.role!r} key cannot sign in to the console: use an admin or auditor key.", 403)
    engine = engine_of(request)
    store: Any = engine.store
    lifetime = timedelta(minutes=getattr(request.app.state, "console_session_minutes", 480))

    def start() -> str:
        token, _ = store.console_sessions.create(key.tenant_id, key.key_id, key.role, lifetime)
        store.audit.append(key.tenant_id, "console.sign_in", {"key_id": key.key_id, "role": key.role})
        return str(token)

    token = await call(start)
    response = redirect("/console")
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()))
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, user: UserDep) -> Response:
    await form(request, user.csrf)
    await call(engine_of(request).store.console_sessions.end, user.token)
    response = redirect("/console/sign-in?note=Signed+out.")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
