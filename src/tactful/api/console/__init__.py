"""The web console at ``/console`` (docs/console.md): server-rendered pages in the same FastAPI app,
no Node build. Sign in with an admin or auditor API key; see ``web`` for sessions, CSRF, headers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from tactful.api.console import auth, decisions, experiments, insights, policies
from tactful.api.console.web import HERE, ConsoleError, SignInRequired, page, redirect

TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Not valid"}


def install(app: FastAPI, *, session_minutes: int = 480) -> None:
    app.state.console_session_minutes = session_minutes
    for module in (auth, decisions, policies, experiments, insights):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return redirect("/console/sign-in")

    @app.exception_handler(ConsoleError)
    async def _error(request: Request, exc: ConsoleError) -> Response:
        request.app.state.metrics.http_errors.labels(exc.code).inc()
        title = TITLES.get(exc.status, "Something went wrong")
        return page(
            request, "error.html", None, status=exc.status, title=title, message=exc.message, code=exc.code,
            http_status=exc.status,
        )  # fmt: skip
