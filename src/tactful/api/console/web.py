"""What every console page needs: templates, the signed-in user, CSRF-checked forms, safe headers.

**Sessions.** Signing in with an admin or auditor API key makes a server-side session
(``console_sessions``); the browser holds only a random token in a cookie that is ``HttpOnly``,
``SameSite=Strict``, ``Path=/console`` and ``Secure`` when the request came over TLS. Every request
re-checks the session and that its key is still valid, so revoking the key signs the session out.

**CSRF.** Every form carries the session's CSRF token, compared in constant time; a request whose
``Origin`` is another site is refused too. The sign-in form, before any session exists, uses a
double-submit cookie.

**Headers.** A strict Content-Security-Policy (scripts, styles and images from this origin only; no
inline script), no framing, no caching, no referrer to other sites.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from tactful.domain import TenantId
from tactful.engine import Engine
from tactful.errors import TactfulError

HERE = Path(__file__).parent
SESSION_COOKIE = "tactful_console"
SIGN_IN_COOKIE = "tactful_console_signin"
PATH = "/console"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": with it, browsers send "Origin: null" on our own form posts (Fetch spec),
    # and the same-origin check below would refuse them.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
T = TypeVar("T")


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "—" if value is None else str(value)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1%}"


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    when=_when, num=_num, pct=_pct, tojson_pretty=lambda v: json.dumps(v, indent=2, default=str)
)


@dataclass(frozen=True)
class ConsoleUser:
    tenant_id: TenantId
    tenant_name: str
    key_id: str
    role: str
    csrf: str
    token: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


class SignInRequired(Exception):
    """No valid session: the handler redirects to the sign-in page."""


class ConsoleError(Exception):
    """An error shown as a page (the API's problem+json is for machines)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def engine_of(request: Request) -> Engine:
    found: Engine = request.app.state.engine
    return found


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def page(
    request: Request, template: str, user: ConsoleUser | None, status: int = 200, **context: Any
) -> HTMLResponse:
    html = templates.get_template(template).render(user=user, request_path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=HEADERS)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run store work off the event loop; a Tactful error becomes an error page."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except TactfulError as exc:
        raise ConsoleError(exc.status if exc.status < 500 else 503, exc.code, exc.message) from exc


def _session(engine: Engine, token: str) -> ConsoleUser | None:
    store: Any = engine.store
    session = store.console_sessions.get(token)
    if session is None:
        return None
    key = store.governance.key_by_id(session.key_id)
    if key is None or key.revoked or key.tenant_id != session.tenant_id or key.role != session.role:
        return None  # the key was revoked (or changed): the session ends with it
    tenant = store.get_tenant(session.tenant_id)
    name = tenant.name if tenant is not None else session.tenant_id
    return ConsoleUser(session.tenant_id, name, session.key_id, session.role, session.csrf_token, token)


async def console_user(request: Request) -> ConsoleUser:
    token = request.cookies.get(SESSION_COOKIE, "")
    user = await call(_session, engine_of(request), token) if token else None
    if user is None:
        raise SignInRequired()
    return user


UserDep = Annotated[ConsoleUser, Depends(console_user)]


def require_admin(user: ConsoleUser, what: str) -> None:
    if not user.admin:
        raise ConsoleError(403, "forbidden_role", f"an auditor cannot {what}; this needs an admin key")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # browsers send Origin on cross-site POSTs; SameSite=Strict and the token do the rest
    return origin == f"{request.url.scheme}://{request.url.netloc}"


async def form(request: Request, expected_csrf: str) -> dict[str, str]:
    """The posted form, after the CSRF checks (403 on failure)."""
    if not _same_origin(request):
        raise ConsoleError(403, "csrf_failed", "this form was posted from another site")
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype != "application/x-www-form-urlencoded":
        raise ConsoleError(415, "unsupported_form", "forms must be application/x-www-form-urlencoded")
    try:
        fields = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise ConsoleError(400, "malformed_form", "the form is not UTF-8") from None
    if not expected_csrf or not hmac.compare_digest(fields.get("csrf", ""), expected_csrf):
        raise ConsoleError(403, "csrf_failed", "the form's security token did not match; reload the page")
    return fields


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PATH, secure=secure(request), httponly=True, samesite="strict"
    )
