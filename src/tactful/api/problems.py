"""Errors as RFC 9457 ``application/problem+json`` with a stable machine-readable ``code``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tactful.api.deps import caller, key_check_deferred
from tactful.domain.timestamps import INVALID_TIMESTAMP
from tactful.errors import AuthError, PolicyError, TactfulError
from tactful.governance.ratelimit import RateLimited

PROBLEM = "application/problem+json"


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://tactful.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _validation_code(errors: list[dict[str, Any]]) -> tuple[int, str]:
    kinds = {e.get("type") for e in errors}
    if "json_invalid" in kinds:
        return 400, "malformed_json"
    if INVALID_TIMESTAMP in kinds:
        return 422, INVALID_TIMESTAMP
    if any(e.get("type") == "enum" and "channel" in e.get("loc", ()) for e in errors):
        return 422, "unknown_channel"
    return 422, "validation_error"


def _count(request: Request, code: str) -> None:
    request.app.state.metrics.http_errors.labels(code).inc()


def install(app: FastAPI) -> None:
    @app.exception_handler(TactfulError)
    async def _tactful(request: Request, exc: TactfulError) -> JSONResponse:
        _count(request, exc.code)
        extra: dict[str, Any] = {}
        if isinstance(exc, PolicyError):
            extra = {"source": exc.source, "line": exc.line, "rule_id": exc.rule_id}
        status = exc.status if not isinstance(exc, AuthError) else 401
        response = problem(status, exc.code, exc.message, **extra)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = exc.retry_after_header
        return response

    async def _store_failed(request: Request, exc: Exception) -> JSONResponse:
        # A safety net: stores translate their driver's errors into StoreError at their boundary;
        # one that slips through is still a 503 with a code, never a bare 500 or a reset.
        _count(request, "store_unavailable")
        return problem(503, "store_unavailable", f"the store failed: {type(exc).__name__}")

    driver_errors = tuple(_driver_errors())
    for driver_error in driver_errors:
        app.add_exception_handler(driver_error, _store_failed)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if key_check_deferred(request) and not any(e["type"] == "json_invalid" for e in errors):
            # The handler would have checked the key after validation: check it now, so a bad key
            # is 401 (429, 403) before a bad body is 422, as with the ``caller`` dependency (which
            # runs after the JSON is parsed and before it is validated: malformed JSON stays 400).
            try:
                await caller(request)
            except TactfulError as failed:
                return await _tactful(request, failed)
            except driver_errors as failed:
                return await _store_failed(request, failed)
        status, code = _validation_code(errors)
        _count(request, code)
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        return problem(status, code, detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers 400 only when it cannot decode the body (bad JSON, invalid UTF-8).
        code = {
            400: "malformed_json",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, f"http_{exc.status_code}")
        _count(request, code)
        return problem(exc.status_code, code, str(exc.detail))


def _driver_errors() -> list[type[Exception]]:
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    found: list[type[Exception]] = [SQLAlchemyError, sqlite3.Error]
    try:
        import psycopg
    except ImportError:  # the postgres extra is not installed: no such errors can occur
        return found
    return [*found, psycopg.Error]
