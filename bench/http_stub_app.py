"""The service with ``Engine.decide`` answering its first real decision to every later call: the
HTTP layer alone under wrk (``bench/http_load.py --stub-decide``), the ceiling the POST ÷ healthz
ratio could reach if a decision cost nothing. For benchmarks only."""

from __future__ import annotations

from fastapi import FastAPI

from tactful.api.app import create_app
from tactful.domain import Decision, InboundMessage
from tactful.engine import Engine


def create() -> FastAPI:
    real = Engine.decide
    first: list[Decision] = []

    def decide(self: Engine, message: InboundMessage) -> Decision:
        if not first:
            first.append(real(self, message))
        return first[0]

    Engine.decide = decide  # type: ignore[method-assign]
    return create_app()
