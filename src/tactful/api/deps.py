"""Request-scoped dependencies: the engine and the caller's API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tactful.engine import Engine
from tactful.errors import AuthError
from tactful.store.base import ApiKeyRecord
from tactful.tenants import authenticate


async def engine(request: Request) -> Engine:
    eng: Engine = request.app.state.engine
    return eng


async def caller(request: Request) -> ApiKeyRecord:
    # async on purpose: a sync dependency costs a thread-pool hop per request, and this one is a
    # ~20 µs indexed read.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header and scheme.lower() != "bearer":
        raise AuthError("use 'Authorization: Bearer <api key>'", code="invalid_auth_scheme")
    return authenticate(request.app.state.engine.store, token.strip() or None)


EngineDep = Annotated[Engine, Depends(engine)]
CallerDep = Annotated[ApiKeyRecord, Depends(caller)]
