"""The FastAPI application factory: the composition root of the HTTP service."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from tactful import __version__
from tactful.api import (
    audit,
    console,  # issue 15
    customers,
    health,
    keys,
    messages,
    outcomes,
    policies,
    problems,
    reports,
)
from tactful.api import channels as channels_api  # issue 14
from tactful.api import context as context_api  # issue 6
from tactful.api import experiments as experiments_api  # issue 15
from tactful.api import intents as intents_api  # issue 3
from tactful.api import knowledge as knowledge_api  # issue 14
from tactful.api import learning as learning_api  # issue 4
from tactful.api import webchat as webchat_api  # issue 14
from tactful.api.fast_path import MessagesFastPath
from tactful.api.limits import BodyLimit
from tactful.api.problem_docs import problem_responses
from tactful.api.telemetry import RequestTelemetry
from tactful.breaker import CircuitBreaker, CircuitOpen
from tactful.channels.service import ChannelService
from tactful.config import Settings
from tactful.engine import Engine
from tactful.governance.ratelimit import build_limiter
from tactful.learn.bandit import BanditLearner
from tactful.observability import DecisionLog, Metrics, configure_logging
from tactful.observability.metrics import ProbeRead
from tactful.wiring import settle_startup_heap


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the app. Pass an ``engine`` to share one (tests, embedding); otherwise one is built from
    ``settings`` (or the environment) when the app starts and closed when it stops."""
    settings = settings or Settings.from_env()
    owns_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_engine:
            # The service's own process: its logs are ours to shape (an embedding app keeps its own).
            configure_logging(settings)
            # On a durable bus an API process consumes nothing: `tactful worker` processes do
            # (issue 13); the embedded default consumes every group itself.
            consume = None if settings.bus_url.startswith("memory:") else frozenset[str]()
            app.state.engine = Engine.from_settings(settings, background_relay=True, consume=consume)
            observe(app, app.state.engine)
            # The embedded delivery worker (issue 14): `tactful worker --role delivery` runs the same
            # loop in its own process.
            app.state.channels = ChannelService(app.state.engine)
            app.state.channels.start()
            settle_startup_heap()  # (wiring.py: no 100 ms full collections of start-up objects)
        try:
            yield
        finally:
            await app.state.rate_limiter.aclose()
            if owns_engine:
                app.state.channels.close()
                app.state.engine.close()
                gc.unfreeze()  # what start-up froze can go now (an app stopped and started again)

    app = FastAPI(
        title="Tactful",
        version=__version__,
        summary="Tone, channel and next best action for every customer-support turn.",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics(
        tenant_label=settings.metrics_tenant_label, multiprocess_dir=settings.prometheus_multiproc_dir
    )
    app.state.rate_limiter = build_limiter(
        settings.rate_limit_url, settings.rate_limit_per_second, settings.rate_limit_burst
    )
    limiter = app.state.rate_limiter
    app.state.metrics.add_probe(
        "tactful_rate_limit_degraded", "1 while the shared rate-limit store is unreachable (local limits)",
        lambda: float(limiter.health() != "ok"),
    )  # fmt: skip
    app.state.metrics.add_probe(
        "tactful_rate_limit_local_fallbacks", "Requests limited in-process because the shared store failed",
        lambda: float(getattr(limiter, "fallbacks", 0)),
    )  # fmt: skip
    if engine is not None:
        app.state.engine = engine
        observe(app, engine)
    problems.install(app)
    for module in (messages, outcomes, customers, policies, health):
        app.include_router(module.router, responses=None if module is health else problem_responses())
    for module in (
        audit, reports, keys, context_api, learning_api, intents_api, experiments_api, channels_api,
        knowledge_api, webchat_api,
    ):  # fmt: skip
        app.include_router(module.router, responses=problem_responses())
    console.install(app, session_minutes=settings.console_session_minutes)
    app.add_middleware(MessagesFastPath, api=app)  # innermost: inside the limit and the telemetry
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestTelemetry, metrics=app.state.metrics)  # outermost: sees 413s too
    return app


def observe(app: FastAPI, engine: Engine) -> None:
    """Hang the app's metrics and the decision log on the engine (observers run once per new decision)."""
    metrics: Metrics = app.state.metrics
    engine.observers.extend([metrics.observe, DecisionLog()])
    if isinstance(engine.learner, BanditLearner):
        engine.learner.reward_observers.append(metrics.observe_reward)
    if engine.monitor is not None:
        engine.monitor.observers.append(lambda e, kind: metrics.observe_experiment(e.tenant_id, kind))
    breakers = {"nats" if check == "bus" else check: b for check, b in health.breakers(engine).items()}
    if breakers:
        metrics.add_probe(
            "tactful_breaker_open", "1 while a remote part's circuit breaker is open or half-open",
            lambda: {(name,): float(b.state != "closed") for name, b in breakers.items()},
            labels=("breaker",),
        )  # fmt: skip
    if engine.hot is not None:
        features = engine.hot.features
        metrics.add_probe(
            "tactful_hot_store_reads",
            "Feature reads since start by where they were served (hot, stale_or_missing, sql_fallback)",
            lambda: {
                ("hot",): float(features.hits),
                ("stale_or_missing",): float(features.misses),
                ("sql_fallback",): float(features.fallbacks),
            },
            labels=("served",),
        )
    breaker = health.bus_breaker(engine)
    if breaker is not None:
        bus: Any = getattr(engine.bus, "inner", engine.bus)  # the NATS bus: it has a breaker
        # A scrape-time read of NATS, skipped while the breaker is open so a dead server cannot
        # stall /metrics. Consumer lag per group: `tactful bus status`.
        metrics.add_probe(
            "tactful_bus_dead_letters", "Events the bus's consumer groups gave up on (dead-letter stream)",
            _while_closed(breaker, lambda: float(bus.dead_letter_count())),
        )  # fmt: skip
    pending = getattr(engine.store, "pending_outbox", None)
    if pending is not None:
        metrics.add_probe("tactful_outbox_pending", "Events committed but not yet on the bus", pending)


def _while_closed(breaker: CircuitBreaker, read: ProbeRead) -> ProbeRead:
    """A probe that is skipped (raises) while ``breaker`` is not closed."""

    def guarded() -> float | Mapping[tuple[str, ...], float]:
        if breaker.state != "closed":
            raise CircuitOpen(f"{breaker.name}: not read while the circuit is {breaker.state}")
        return read()

    return guarded
